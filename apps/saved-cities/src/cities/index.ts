// The cities module's one door: app.ts mounts what createCitiesModule returns. A request goes route (routes.ts)
// -> input (city-input.ts, zod) -> store (cities-store.ts, SQL) -> the database (../database).
import { HttpError, type HealthCheck } from '@slipway/service-kit';
import express, { type Router } from 'express';
import { databaseHealthCheck, type Database, type SchemaGate } from '../database';
import { CitiesStore } from './cities-store';
import { citiesRoutes } from './routes';

export { type AddResult, type CityPage, type SavedCity } from './cities-store';
export { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from './city-input';

export type CitiesModule = {
  /** The API under /api/users/:userId/cities; every /api request answers 503 while the schema is not current. */
  readonly router: Router;
  /** The database check to register with the chassis's HealthRegistry under `name` (`<engine>:connection`). */
  readonly health: { readonly name: string; readonly check: HealthCheck };
};

/**
 * The cities module over `database`. `schema` gates it: until the schema is known to be current (server.ts
 * checks at start-up and rechecks while the database is unreachable), the API answers 503 with Retry-After 2
 * and the health check fails, so no request runs against a schema behind this version.
 */
export function createCitiesModule({
  database,
  schema,
}: {
  database: Database;
  schema: SchemaGate;
}): CitiesModule {
  const router = express.Router();
  router.use('/api', (_req, _res, next) => {
    if (schema.isCurrent) {
      next();
      return;
    }
    next(
      new HttpError(503, 'The database is not ready yet; try again shortly.', {
        type: 'database-unavailable',
        headers: { 'retry-after': '2' },
      }),
    );
  });
  router.use(citiesRoutes(new CitiesStore(database), { embedded: database.embedded }));
  return {
    router,
    health: { name: `${database.engine}:connection`, check: databaseHealthCheck(database, schema) },
  };
}
