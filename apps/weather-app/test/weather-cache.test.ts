import {
  CityNotFoundError,
  upstreamErrors,
  type Units,
  type WeatherProvider,
  type WeatherReport,
} from '../src/weather/weather';
import { WeatherService } from '../src/weather/weather-cache';

// Unit tests of the cache policy with an in-memory provider; the HTTP path is covered in app.test.ts.
class ScriptedProvider implements WeatherProvider {
  readonly source = 'openweather' as const;
  calls: string[] = [];
  failWith: Error | undefined;
  async getCurrentWeather(city: string, units: Units): Promise<WeatherReport> {
    this.calls.push(`${city}/${units}`);
    if (this.failWith) throw this.failWith;
    return {
      city,
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
    new WeatherService(provider, { ttlMs: 1000, staleIfErrorMs: 5000, maxEntries, now: () => now });

  beforeEach(() => (now = 0));

  it('bounds memory: the least recently used entry is evicted first', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider, 2);
    await weather.lookup('A', 'metric');
    await weather.lookup('B', 'metric');
    await weather.lookup('A', 'metric'); // A is now the most recently used
    await weather.lookup('C', 'metric'); // evicts B
    expect((await weather.lookup('A', 'metric')).cache).toBe('hit');
    expect((await weather.lookup('B', 'metric')).cache).toBe('miss');
    expect(provider.calls).toEqual(['A/metric', 'B/metric', 'C/metric', 'B/metric']);
  });

  it('does not serve stale data for a city that does not exist, and does not cache the miss', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider);
    provider.failWith = new CityNotFoundError('Nowhere');
    await expect(weather.lookup('Nowhere', 'metric')).rejects.toBeInstanceOf(CityNotFoundError);
    expect(weather.healthCheck().status).toBe('pass');
  });

  it('shares one failure among coalesced callers, then lets the next call retry', async () => {
    const provider = new ScriptedProvider();
    const weather = service(provider);
    provider.failWith = upstreamErrors.timeout(100);
    const results = await Promise.allSettled([weather.lookup('A', 'metric'), weather.lookup('a', 'metric')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(provider.calls).toHaveLength(1);
    provider.failWith = undefined;
    expect((await weather.lookup('A', 'metric')).cache).toBe('miss');
    expect(provider.calls).toHaveLength(2);
  });
});
