import express, { type Router } from 'express';
import { parseCity, parseUnits } from './city-input';
import { DEMO_CITIES } from './demo-provider';
import { renderIndexPage, renderWeatherPage } from './views';
import type { WeatherLookup, WeatherService } from './weather-cache';

function toJson({ report, cache }: WeatherLookup) {
  return { ...report, demo: report.source === 'demo', stale: cache === 'stale' };
}

export function weatherRoutes(weather: WeatherService): Router {
  const router = express.Router();
  const demo = weather.source === 'demo';
  const indexPage = renderIndexPage({ demo, demoCities: DEMO_CITIES.map((c) => c.name) });

  router.get('/', (_req, res) => {
    res.type('html').send(indexPage);
  });

  router.post(
    '/weather',
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    async (req, res) => {
      const city = parseCity((req.body as Record<string, unknown> | undefined)?.city);
      const units = parseUnits((req.body as Record<string, unknown> | undefined)?.units);
      const lookup = await weather.lookup(city, units);
      res
        .set('x-cache', lookup.cache)
        .type('html')
        .send(renderWeatherPage(lookup.report, { stale: lookup.cache === 'stale' }));
    },
  );

  router.get('/api/weather', async (req, res) => {
    const city = parseCity(req.query.city);
    const units = parseUnits(req.query.units);
    const lookup = await weather.lookup(city, units);
    res.set('x-cache', lookup.cache).json(toJson(lookup));
  });

  return router;
}
