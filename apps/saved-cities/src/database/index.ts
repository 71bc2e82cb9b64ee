import type { Logger } from '@slipway/service-kit';
import type { SavedCitiesConfig } from '../config';
import type { Database } from './database';
import { createPgliteDatabase } from './pglite-database';
import { createPostgresDatabase } from './postgres-database';

export {
  DatabaseUnavailableError,
  EMBEDDED_DATABASE_NOTICE,
  type Database,
  type QueryOptions,
  type SqlExecutor,
} from './database';
export { isConnectionLost, isDatabaseUnavailable, repeatOnceIfConnectionLost } from './connection-lost';
export { databaseHealthCheck } from './health-check';
export { SchemaGate, type SchemaGateState } from './schema-gate';
export { migrateToLatest, schemaStatus, type SchemaStatus } from './migrate';
export { MIGRATIONS, type SchemaMigration } from './migrations';
export { createPgliteDatabase } from './pglite-database';
export { createPostgresDatabase } from './postgres-database';

/** Postgres when DATABASE_URL is set, else the embedded PGlite. */
export function openDatabase(config: SavedCitiesConfig, logger: Logger): Promise<Database> {
  if (!config.DATABASE_URL) return createPgliteDatabase();
  return Promise.resolve(
    createPostgresDatabase({
      connectionString: config.DATABASE_URL,
      maxConnections: config.DATABASE_POOL_MAX,
      idleTimeoutMs: config.DATABASE_IDLE_TIMEOUT_MS,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
      applicationName: 'saved-cities',
      logger,
    }),
  );
}
