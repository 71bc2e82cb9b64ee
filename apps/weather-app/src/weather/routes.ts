import { HttpError, rejectDeclaredOversizedBodies } from '@slipway/service-kit';
import express, { type RequestHandler, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { parseCity, parseUnits } from './city-input';
import { DEMO_CITIES } from './demo-provider';
import { renderIndexPage, renderWeatherPage } from './views';
import type { WeatherReport } from './weather';
import type { WeatherLookup, WeatherService } from './weather-cache';

function toJson({ report, cache }: WeatherLookup): string {
  return JSON.stringify({ ...report, demo: report.source === 'demo', stale: cache === 'stale' });
}

/**
 * A cache hit hands back the same report object every time, so its JSON and its page are built once per
 * cached entry instead of once per request. WeakMaps let the entries go when the cache drops the report.
 */
class RenderedByReport {
  private readonly fresh = new WeakMap<WeatherReport, string>();
  private readonly stale = new WeakMap<WeatherReport, string>();

  constructor(private readonly render: (lookup: WeatherLookup) => string) {}

  get(lookup: WeatherLookup): string {
    const rendered = lookup.cache === 'stale' ? this.stale : this.fresh;
    let text = rendered.get(lookup.report);
    if (text === undefined) {
      text = this.render(lookup);
      rendered.set(lookup.report, text);
    }
    return text;
  }
}

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

export function weatherRoutes(weather: WeatherService, options: WeatherRouteOptions = {}): Router {
  const router = express.Router();
  const limited: RequestHandler[] = options.rateLimitPerMinute
    ? [perClientLimit(options.rateLimitPerMinute)]
    : [];
  const demo = weather.source === 'demo';
  const indexPage = renderIndexPage({ demo, demoCities: DEMO_CITIES.map((c) => c.name) });
  const jsonBodies = new RenderedByReport(toJson);
  const weatherPages = new RenderedByReport(({ report, cache }) =>
    renderWeatherPage(report, { stale: cache === 'stale' }),
  );

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
      res.set('x-cache', lookup.cache).type('html').send(weatherPages.get(lookup));
    },
  );

  router.get('/api/weather', ...limited, async (req, res) => {
    // Express 5 parses the query string again on every read of req.query.
    const query = req.query;
    const city = parseCity(query.city);
    const units = parseUnits(query.units);
    const lookup = await weather.lookup(city, units);
    res.set('x-cache', lookup.cache).type('json').send(jsonBodies.get(lookup));
  });

  return router;
}
