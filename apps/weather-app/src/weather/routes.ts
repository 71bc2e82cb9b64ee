import { HttpError, rejectDeclaredOversizedBodies } from '@slipway/service-kit';
import express, { type RequestHandler, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { parseCity, parseUnits } from './city-input';
import { renderIndexPage, weatherJson, weatherPage } from './views';
import type { WeatherService } from './weather-service';

const FORM_BODY_LIMIT_BYTES = 4 * 1024;

/**
 * At most `perMinute` weather lookups per client IP (IPv6 by /56, express-rate-limit's default) in a fixed
 * one-minute window; over it, a 429 problem with Retry-After. Counts live in this process's memory, so with
 * several replicas each keeps its own.
 */
function perClientLimit(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Keyed by the socket's address on purpose (trust proxy is off: a forwarded-for header is the client's
    // claim). The library would say so on stderr, outside the JSON log, for every proxy that sets it.
    validate: { xForwardedForHeader: false },
    handler(req, _res, next) {
      const resetTime = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 60;
      next(
        new HttpError(429, `Too many weather lookups from your address. Try again in ${seconds} s.`, {
          type: 'rate-limited',
          title: 'Too Many Requests',
          headers: { 'retry-after': String(seconds) },
        }),
      );
    },
  });
}

export type WeatherRouteOptions = {
  /** Weather lookups per client IP per minute; 0 turns the limit off. */
  rateLimitPerMinute?: number;
};

/**
 * `GET /` (the form), `POST /weather` (the page) and `GET /api/weather?city=&units=` (JSON). Each parses its
 * input once (city-input.ts) and asks the service; errors go to the chassis's error mapping as HttpErrors.
 */
export function weatherRoutes(weather: WeatherService, options: WeatherRouteOptions = {}): Router {
  const router = express.Router();
  const limited: RequestHandler[] = options.rateLimitPerMinute
    ? [perClientLimit(options.rateLimitPerMinute)]
    : [];
  const indexPage = renderIndexPage({ demo: weather.source === 'demo', demoCities: weather.knownCities });

  router.get('/', (_req, res) => {
    res.type('html').send(indexPage);
  });

  router.post(
    '/weather',
    ...limited,
    rejectDeclaredOversizedBodies(FORM_BODY_LIMIT_BYTES, { requireLength: true }),
    express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT_BYTES, parameterLimit: 10 }),
    async (req, res) => {
      const city = parseCity((req.body as Record<string, unknown> | undefined)?.city);
      const units = parseUnits((req.body as Record<string, unknown> | undefined)?.units);
      const lookup = await weather.lookup(city, units);
      res.set('x-cache', lookup.cache).type('html').send(weatherPage(lookup));
    },
  );

  router.get('/api/weather', ...limited, async (req, res) => {
    // Express 5 parses the query string again on every read of req.query.
    const query = req.query;
    const city = parseCity(query.city);
    const units = parseUnits(query.units);
    const lookup = await weather.lookup(city, units);
    res.set('x-cache', lookup.cache).type('json').send(weatherJson(lookup));
  });

  return router;
}
