import { baseEnvSchema, integerVariable, oneOfVariable } from '@slipway/service-kit';
import { z } from 'zod';

export const weatherEnvSchema = baseEnvSchema
  .extend({
    OPENWEATHER_API_KEY: z
      .string()
      .regex(/^[\w-]{8,128}$/, 'must be 8 to 128 letters, digits, "_" or "-"')
      .optional(),
    OPENWEATHER_BASE_URL: z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
      .default('https://api.openweathermap.org'),
    OPENWEATHER_TIMEOUT_MS: integerVariable({ min: 100, max: 60_000, unit: 'milliseconds' }).default(3000),
    WEATHER_PROVIDER: oneOfVariable(['openweather', 'demo']).optional(),
    WEATHER_CACHE_TTL_SECONDS: integerVariable({ min: 0, max: 86_400, unit: 'seconds' }).default(600),
    WEATHER_STALE_IF_ERROR_SECONDS: integerVariable({ min: 0, max: 86_400, unit: 'seconds' }).default(3600),
    WEATHER_CACHE_MAX_ENTRIES: integerVariable({ min: 1, max: 1_000_000 }).default(5000),
    // "City not found" is remembered this long (0 turns it off), so repeated unknown cities cost no quota.
    WEATHER_NOT_FOUND_TTL_SECONDS: integerVariable({ min: 0, max: 3600, unit: 'seconds' }).default(60),
    // Weather lookups per client IP per minute; 0 (the default) turns the limit off. Opt-in, because behind a
    // reverse proxy every client has the proxy's address (trust proxy is off) and would share one budget.
    WEATHER_RATE_LIMIT_PER_MINUTE: integerVariable({ min: 0, max: 100_000 }).default(0),
  })
  .superRefine((env, ctx) => {
    if (env.WEATHER_PROVIDER === 'openweather' && !env.OPENWEATHER_API_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['OPENWEATHER_API_KEY'],
        message: 'is required when WEATHER_PROVIDER=openweather',
      });
    }
  })
  // The provider defaults to OpenWeather when a key is set, else the embedded demo data.
  .transform((env) => ({
    ...env,
    WEATHER_PROVIDER: env.WEATHER_PROVIDER ?? (env.OPENWEATHER_API_KEY ? 'openweather' : 'demo'),
  }));

export type WeatherConfig = z.infer<typeof weatherEnvSchema>;

/**
 * The start-up log line's message: which provider serves, and why, as the configuration chose it (the
 * provider defaults to OpenWeather when OPENWEATHER_API_KEY is set, else the demo data; WEATHER_PROVIDER
 * overrides). Never the key itself.
 */
export function startupMessage(
  config: Pick<WeatherConfig, 'WEATHER_PROVIDER' | 'OPENWEATHER_API_KEY'>,
): string {
  if (config.WEATHER_PROVIDER === 'openweather') return 'starting with OpenWeather';
  return config.OPENWEATHER_API_KEY
    ? 'starting with the embedded demo provider (WEATHER_PROVIDER=demo; OPENWEATHER_API_KEY is set but unused)'
    : 'starting with the embedded demo provider (no OPENWEATHER_API_KEY)';
}
