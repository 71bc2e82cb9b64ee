import {
  createServiceApp,
  HealthRegistry,
  HttpError,
  type CheckResult,
  type Logger,
  type VersionInfo,
} from '@slipway/service-kit';
import type { Express } from 'express';
import { CitiesStore, citiesRoutes } from './cities';
import { EMBEDDED_DATABASE_NOTICE, type Database, type SchemaGate } from './database';

export type AppDependencies = {
  logger: Logger;
  version: VersionInfo;
  health: HealthRegistry;
  exposeStackTraces: boolean;
  /** This app's secret names (its declaration), censored in logged request URLs. */
  secretKeys: readonly string[];
  database: Database;
  schema: SchemaGate;
};

// Below the usual 1 s probe timeouts, so a hanging database fails the check instead of the probe.
const HEALTH_PING_TIMEOUT_MS = 800;

/** The database check behind /health and /health/ready; /health/live never runs it. */
export function databaseHealthCheck(database: Database, schema: SchemaGate): () => Promise<CheckResult> {
  const engine = database.engine === 'postgres' ? 'Postgres' : 'PGlite';
  return async () => {
    try {
      await database.ping(HEALTH_PING_TIMEOUT_MS);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { status: 'fail', componentType: 'datastore', output: `${engine} is unreachable: ${reason}` };
    }
    const state = schema.state;
    if (state.kind === 'behind') {
      return {
        status: 'fail',
        componentType: 'datastore',
        output: `the schema is behind this version; run the migrate step (pending: ${state.pending.join(', ')})`,
      };
    }
    if (state.kind === 'unchecked') {
      return { status: 'fail', componentType: 'datastore', output: state.reason };
    }
    return {
      status: 'pass',
      componentType: 'datastore',
      ...(database.embedded ? { output: EMBEDDED_DATABASE_NOTICE } : {}),
    };
  };
}

/** The express app, without listening: server.ts listens, tests use supertest. */
export function createApp({
  logger,
  version,
  health,
  exposeStackTraces,
  secretKeys,
  database,
  schema,
}: AppDependencies): Express {
  health.register(`${database.engine}:connection`, databaseHealthCheck(database, schema));
  const store = new CitiesStore(database);
  return createServiceApp({
    logger,
    health,
    version,
    exposeStackTraces,
    secretKeys,
    routes: (app) => {
      app.use('/api', (_req, _res, next) => {
        if (schema.isCurrent) {
          next();
          return;
        }
        next(
          new HttpError(503, 'The database is not ready yet; try again shortly.', {
            type: 'database-not-ready',
            headers: { 'retry-after': '2' },
          }),
        );
      });
      app.use(citiesRoutes(store, { embedded: database.embedded }));
    },
  });
}
