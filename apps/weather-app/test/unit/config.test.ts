import { loadConfig } from '@slipway/service-kit';
import { startupMessage, weatherEnvSchema } from '../../src/config';

describe('weather-app configuration', () => {
  it('defaults to the demo provider without a key, and to OpenWeather with one', () => {
    expect(loadConfig(weatherEnvSchema, {})).toMatchObject({
      WEATHER_PROVIDER: 'demo',
      OPENWEATHER_BASE_URL: 'https://api.openweathermap.org',
      OPENWEATHER_TIMEOUT_MS: 3000,
      WEATHER_CACHE_TTL_SECONDS: 600,
    });
    expect(loadConfig(weatherEnvSchema, { OPENWEATHER_API_KEY: 'abcdef0123456789' }).WEATHER_PROVIDER).toBe(
      'openweather',
    );
    expect(
      loadConfig(weatherEnvSchema, { OPENWEATHER_API_KEY: 'abcdef0123456789', WEATHER_PROVIDER: 'demo' })
        .WEATHER_PROVIDER,
    ).toBe('demo');
  });

  it.each([
    [
      { WEATHER_PROVIDER: 'openweather' },
      'Invalid configuration: OPENWEATHER_API_KEY is required when WEATHER_PROVIDER=openweather',
    ],
    [{ WEATHER_PROVIDER: 'yahoo' }, 'Invalid configuration: WEATHER_PROVIDER '],
    [
      { OPENWEATHER_BASE_URL: 'ftp://example.test' },
      'Invalid configuration: OPENWEATHER_BASE_URL must be an http(s) URL',
    ],
    [{ OPENWEATHER_TIMEOUT_MS: '5' }, 'Invalid configuration: OPENWEATHER_TIMEOUT_MS '],
    [{ WEATHER_CACHE_TTL_SECONDS: '-1' }, 'Invalid configuration: WEATHER_CACHE_TTL_SECONDS '],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(weatherEnvSchema, env)).toThrow(message);
  });

  it('rejects a malformed key without echoing it', () => {
    const key = 'has spaces and "quotes" secret-ish';
    expect(() => loadConfig(weatherEnvSchema, { OPENWEATHER_API_KEY: key })).toThrow(
      /^Invalid configuration: OPENWEATHER_API_KEY must be 8 to 128 letters/,
    );
    try {
      loadConfig(weatherEnvSchema, { OPENWEATHER_API_KEY: key });
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
    }
  });

  it('says why it starts with the provider it chose, and never claims a key that is set is missing', () => {
    const say = (env: Record<string, string>) => startupMessage(loadConfig(weatherEnvSchema, env));
    expect(say({})).toBe('starting with the embedded demo provider (no OPENWEATHER_API_KEY)');
    expect(say({ OPENWEATHER_API_KEY: 'key-12345678', WEATHER_PROVIDER: 'demo' })).toBe(
      'starting with the embedded demo provider (WEATHER_PROVIDER=demo; OPENWEATHER_API_KEY is set but unused)',
    );
    expect(say({ OPENWEATHER_API_KEY: 'key-12345678' })).toBe('starting with OpenWeather');
  });
});
