import { HttpError, parseRequestInput } from '@slipway/service-kit';
import express, { type ErrorRequestHandler, type Request, type Router } from 'express';
import { EMBEDDED_DATABASE_NOTICE, isDatabaseUnavailable } from '../database';
import type { CitiesStore } from './cities-store';
import {
  cityIdSchema,
  idempotencyKeySchema,
  listQuerySchema,
  newCitySchema,
  userIdSchema,
} from './city-input';

function userIdOf(req: Request): string {
  return parseRequestInput(userIdSchema, req.params.userId, { in: 'path', name: 'user id' });
}

/** Turns a database that is down or unreachable into a 503 the client may retry, instead of a 500. */
const databaseUnavailable: ErrorRequestHandler = (error, _req, _res, next) => {
  if (isDatabaseUnavailable(error)) {
    next(
      new HttpError(503, 'The database is unavailable; try again shortly.', {
        type: 'database-unavailable',
        headers: { 'retry-after': '1' },
        cause: error,
      }),
    );
    return;
  }
  next(error);
};

/**
 * The saved-cities API, under /api/users/:userId/cities. `embedded` adds a notice to every answer and the
 * `x-database: embedded` header, so nobody mistakes in-memory data for stored data.
 */
export function citiesRoutes(store: CitiesStore, { embedded }: { embedded: boolean }): Router {
  const router = express.Router();
  const notice = embedded ? { notice: EMBEDDED_DATABASE_NOTICE } : {};
  router.use('/api/users', (_req, res, next) => {
    res.set('cache-control', 'no-store');
    res.set('x-database', embedded ? 'embedded' : 'postgres');
    next();
  });

  router.get('/api/users/:userId/cities', async (req, res) => {
    const userId = userIdOf(req);
    const query = parseRequestInput(listQuerySchema, req.query, { in: 'query' });
    const page = await store.list(userId, { limit: query.limit, afterId: query.cursor });
    res.json({ ...page, ...notice });
  });

  router.post(
    '/api/users/:userId/cities',
    express.json({ limit: '16kb', strict: true }),
    async (req, res) => {
      const userId = userIdOf(req);
      if (!req.is('application/json')) {
        throw new HttpError(415, 'Send the city as application/json.', { type: 'unsupported-media-type' });
      }
      const city = parseRequestInput(newCitySchema, req.body, { in: 'body' });
      const rawKey = req.get('idempotency-key');
      const key =
        rawKey === undefined
          ? undefined
          : parseRequestInput(idempotencyKeySchema, rawKey, { in: 'header', name: 'Idempotency-Key' });
      const result = await store.add(userId, city, key);
      if (result.status === 422) {
        throw new HttpError(422, result.problem.detail, { type: result.problem.type });
      }
      if (result.replayed) res.set('idempotent-replayed', 'true');
      if (result.status === 409) {
        throw new HttpError(409, result.problem.detail, {
          type: result.problem.type,
          ...(result.replayed ? { headers: { 'idempotent-replayed': 'true' } } : {}),
        });
      }
      res
        .status(201)
        .location(`/api/users/${userId}/cities/${result.city.id}`)
        .json({ city: result.city, ...notice });
    },
  );

  router.delete('/api/users/:userId/cities/:cityId', async (req, res) => {
    const userId = userIdOf(req);
    const cityId = parseRequestInput(cityIdSchema, req.params.cityId, { in: 'path', name: 'city id' });
    const removed = await store.remove(userId, cityId);
    if (!removed) {
      throw new HttpError(404, `No saved city ${cityId} for this user.`, { type: 'city-not-found' });
    }
    res.status(204).end();
  });

  router.use(databaseUnavailable);
  return router;
}
