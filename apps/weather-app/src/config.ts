import { baseEnvSchema } from '@slipway/service-kit';
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
    OPENWEATHER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
    WEATHER_PROVIDER: z.enum(['openweather', 'demo']).optional(),
    WEATHER_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
    WEATHER_STALE_IF_ERROR_SECONDS: z.coerce.number().int().min(0).max(86_400).default(3600),
    WEATHER_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(5000),
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
