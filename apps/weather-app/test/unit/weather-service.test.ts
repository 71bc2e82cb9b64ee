import {
  CityNotFoundError,
  upstreamErrors,
  type Units,
  type WeatherProvider,
  type WeatherReport,
} from '../../src/weather/weather-report';
import { parseCity, type City } from '../../src/weather/city-input';
import { UPSTREAM_WARN_WINDOW_MS, WeatherService } from '../../src/weather/weather-service';

// Unit tests of the cache policy with an in-memory provider; the HTTP path is covered in app.test.ts.
class ScriptedProvider implements WeatherProvider {
  readonly source = 'openweather' as const;
  calls: string[] = [];
  failWith: Error | undefined;
  async getCurrentWeather(city: City, units: Units): Promise<WeatherReport> {
    this.calls.push(`${city.query}/${units}`);
    if (this.failWith) throw this.failWith;
    return {
      city: city.query,
      country: 'XX',
      temperature: this.calls.length,
      temperatureUnit: '°F',
      humidity: 50,
      description: 'test',
      units,
      source: 'openweather',
      observedAt: new Date(0).toISOString(),
    };
  }
}

describe('WeatherService', () => {
  let now = 0;
  const service = (provider: WeatherProvider, maxEntries = 100) =>
    new WeatherService(provider, {
      ttlMs: 1000,
      staleIfErrorMs: 5000,
      notFoundTtlMs: 300,
      maxEntries,
      now: () => now,
    });

  beforeEach(() => (now = 0));

  it('bounds memory: the least recently used entry is evicted first', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider, 2);
    await weather.lookup(parseCity('A'), 'metric');
    await weather.lookup(parseCity('B'), 'metric');
    await weather.lookup(parseCity('A'), 'metric'); // A is now the most recently used
    await weather.lookup(parseCity('C'), 'metric'); // evicts B
    expect((await weather.lookup(parseCity('A'), 'metric')).cache).toBe('hit');
    expect((await weather.lookup(parseCity('B'), 'metric')).cache).toBe('miss');
    expect(provider.calls).toEqual(['A/metric', 'B/metric', 'C/metric', 'B/metric']);
  });

  it('remembers "not found" for notFoundTtlMs only, then asks the upstream again', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider);
    provider.failWith = new CityNotFoundError('Nowhere');
    for (let i = 0; i < 5; i += 1) {
      await expect(weather.lookup(parseCity('Nowhere'), 'metric')).rejects.toBeInstanceOf(CityNotFoundError);
    }
    expect(provider.calls).toEqual(['Nowhere/metric']);
    expect(weather.healthCheck().status).toBe('pass');
    now = 299;
    await expect(weather.lookup(parseCity('NOWHERE'), 'metric')).rejects.toBeInstanceOf(CityNotFoundError);
    expect(provider.calls).toHaveLength(1);
    now = 300;
    provider.failWith = undefined;
    expect((await weather.lookup(parseCity('Nowhere'), 'metric')).cache).toBe('miss');
    expect(provider.calls).toHaveLength(2);
  });

  it('never serves a stale reading for a city the upstream now says does not exist', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider);
    await weather.lookup(parseCity('Gone'), 'metric');
    now = 2000;
    provider.failWith = new CityNotFoundError('Gone');
    await expect(weather.lookup(parseCity('Gone'), 'metric')).rejects.toBeInstanceOf(CityNotFoundError);
    provider.failWith = upstreamErrors.timeout(100);
    now = 2500;
    await expect(weather.lookup(parseCity('Gone'), 'metric')).rejects.toMatchObject({ status: 504 });
  });

  describe('health', () => {
    it('warns while the latest upstream call failed, and passes again at the next answer', async () => {
      const provider = new ScriptedProvider();
      const weather = service(provider);
      provider.failWith = upstreamErrors.unavailable('HTTP 500');
      await expect(weather.lookup(parseCity('A'), 'metric')).rejects.toMatchObject({ status: 502 });
      expect(weather.healthCheck()).toMatchObject({
        status: 'warn',
        output: expect.stringContaining('HTTP 500'),
      });
      provider.failWith = undefined;
      await weather.lookup(parseCity('B'), 'metric');
      expect(weather.healthCheck().status).toBe('pass');
    });

    it('counts "not found" as an answer: the upstream works', async () => {
      const provider = new ScriptedProvider();
      const weather = service(provider);
      provider.failWith = upstreamErrors.timeout(100);
      await expect(weather.lookup(parseCity('A'), 'metric')).rejects.toMatchObject({ status: 504 });
      provider.failWith = new CityNotFoundError('Nowhere');
      await expect(weather.lookup(parseCity('Nowhere'), 'metric')).rejects.toBeInstanceOf(CityNotFoundError);
      expect(weather.healthCheck().status).toBe('pass');
    });

    it('clears a warning UPSTREAM_WARN_WINDOW_MS after the failure when nothing called the upstream since', async () => {
      const provider = new ScriptedProvider();
      const weather = service(provider);
      await weather.lookup(parseCity('A'), 'metric');
      now = 1500;
      provider.failWith = upstreamErrors.unavailable('HTTP 503');
      expect((await weather.lookup(parseCity('A'), 'metric')).cache).toBe('stale');
      expect(weather.healthCheck().status).toBe('warn');
      now = 1500 + UPSTREAM_WARN_WINDOW_MS - 1;
      expect(weather.healthCheck().status).toBe('warn');
      now = 1500 + UPSTREAM_WARN_WINDOW_MS;
      expect(weather.healthCheck()).toMatchObject({
        status: 'pass',
        output: expect.stringContaining('60 s'),
      });
    });
  });

  it('shares one failure among coalesced callers, then lets the next call retry', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider);
    provider.failWith = upstreamErrors.timeout(100);
    const results = await Promise.allSettled([
      weather.lookup(parseCity('A'), 'metric'),
      weather.lookup(parseCity('a'), 'metric'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(provider.calls).toHaveLength(1);
    provider.failWith = undefined;
    expect((await weather.lookup(parseCity('A'), 'metric')).cache).toBe('miss');
    expect(provider.calls).toHaveLength(2);
  });
});
