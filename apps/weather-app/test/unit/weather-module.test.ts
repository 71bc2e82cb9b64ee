import { createLogger, HealthRegistry, resolveVersionInfo } from '@slipway/service-kit';
import request from 'supertest';
import { createApp } from '../../src/app';
import { weatherEnvSchema } from '../../src/config';
import { createWeatherModule, type City, type WeatherProvider } from '../../src/weather';

// The module's door: everything the app needs comes from createWeatherModule, and the pages learn what the
// provider knows from the service, never from a particular provider's data.
describe('createWeatherModule', () => {
  const config = weatherEnvSchema.parse({ NODE_ENV: 'production' });
  const asked: City[] = [];
  const island: WeatherProvider = {
    source: 'demo',
    knownCities: ['Atlantis'],
    async getCurrentWeather(city, units) {
      asked.push(city);
      return {
        city: 'Atlantis',
        country: '',
        temperature: 20,
        temperatureUnit: units === 'metric' ? '°C' : '°F',
        humidity: 100,
        description: 'under water',
        units,
        source: 'demo',
        observedAt: null,
      };
    },
  };
  const weather = createWeatherModule(config, { provider: island });
  const app = createApp({
    logger: createLogger({ level: 'silent' }),
    version: resolveVersionInfo({ env: {} }),
    health: new HealthRegistry({ version: '0', releaseId: '0' }),
    weather,
  });

  it('returns the source, the health check under <source>:responses, and the router the app mounts', async () => {
    expect(weather.source).toBe('demo');
    expect(weather.health.name).toBe('demo:responses');
    expect(await weather.health.check()).toMatchObject({ status: 'pass' });
    const health = await request(app).get('/health').expect(200);
    expect(Object.keys(health.body.checks)).toEqual(['demo:responses']);
  });

  it("lists the provider's own cities on the form and on error pages", async () => {
    const form = await request(app).get('/').expect(200);
    expect(form.text).toContain('Demo mode knows these cities only: Atlantis.');
    expect(form.text).not.toContain('London');
    const notFound = await request(app).get('/no-such-page').set('accept', 'text/html').expect(404);
    expect(notFound.text).toContain('Demo mode knows these cities only: Atlantis.');
  });

  it('hands the provider the one City value built from the request, and caches by its key', async () => {
    asked.length = 0;
    await request(app).get('/api/weather').query({ city: ' Atlantis,gr ' }).expect(200);
    const second = await request(app).get('/api/weather').query({ city: 'ATLANTIS,GR' }).expect(200);
    expect(second.headers['x-cache']).toBe('hit');
    expect(asked).toEqual([
      { query: 'Atlantis,gr', key: 'atlantis,gr', match: { place: 'atlantis', country: 'gr' } },
    ]);
    expect(weather.upstreamCallCount).toBe(1);
  });
});
