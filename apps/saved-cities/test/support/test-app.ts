import { createLogger, HealthRegistry, type Logger } from '@slipway/service-kit';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { createCitiesModule } from '../../src/cities';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  migrateToLatest,
  SchemaGate,
  type Database,
} from '../../src/database';

export const silentLogger: Logger = createLogger({ level: 'silent' });

export const VERSION = {
  version: '1.2.3',
  commit: 'a'.repeat(40),
  contentKey: 'unknown',
  buildTime: 'unknown',
  node: process.version,
};

export interface TestApp {
  app: Express;
  database: Database;
  schema: SchemaGate;
  close(): Promise<void>;
}

/** The app on a migrated database: PGlite without a URL, else Postgres at `url`. */
export async function createTestApp(
  options: {
    url?: string;
    logger?: Logger;
    migrate?: boolean;
    poolMax?: number;
    idleTimeoutMs?: number;
  } = {},
): Promise<TestApp> {
  const logger = options.logger ?? silentLogger;
  const database = options.url
    ? createPostgresDatabase({
        connectionString: options.url,
        maxConnections: options.poolMax ?? 5,
        idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
        connectTimeoutMs: 2000,
        queryTimeoutMs: 5000,
        applicationName: 'saved-cities-test',
        logger,
      })
    : await createPgliteDatabase();
  if (options.migrate !== false) await migrateToLatest(database);
  const schema = new SchemaGate(database, () => undefined);
  await schema.check();
  const health = new HealthRegistry({ version: VERSION.version, releaseId: VERSION.commit });
  const app = createApp({
    logger,
    version: VERSION,
    health,
    exposeStackTraces: false,
    secretKeys: ['DATABASE_URL'],
    cities: createCitiesModule({ database, schema }),
  });
  return {
    app,
    database,
    schema,
    close: async () => {
      schema.stop();
      await database.close();
    },
  };
}
