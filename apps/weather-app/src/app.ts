import { createServiceApp, HealthRegistry, type Logger, type VersionInfo } from '@slipway/service-kit';
import type { Express } from 'express';
import { DEMO_CITIES, DemoWeatherProvider } from './weather/demo-provider';
import { OpenWeatherClient } from './weather/openweather-client';
import { weatherRoutes } from './weather/routes';
import { errorPageRenderer } from './weather/views';
import type { WeatherProvider } from './weather/weather';
import { WeatherService } from './weather/weather-cache';
import type { WeatherConfig } from './config';

/** This service's own secrets, censored in its logs besides the chassis's generic names. */
export const SECRET_KEYS: readonly string[] = ['OPENWEATHER_API_KEY'];

export type AppDependencies = {
  logger: Logger;
  version: VersionInfo;
  weather: WeatherService;
  health: HealthRegistry;
  /** Show unknown errors' stacks to clients (EXPOSE_STACK_TRACES); off by default. */
  exposeStackTraces?: boolean;
  /** Weather lookups per client IP per minute (WEATHER_RATE_LIMIT_PER_MINUTE); 0 or absent turns it off. */
  rateLimitPerMinute?: number;
};

/** The express app, without listening: server.ts listens, tests use supertest. */
export function createApp({
  logger,
  version,
  weather,
  health,
  exposeStackTraces = false,
  rateLimitPerMinute = 0,
}: AppDependencies): Express {
  health.register(`${weather.source}:responses`, () => weather.healthCheck());
  return createServiceApp({
    logger,
    health,
    version,
    exposeStackTraces,
    renderErrorPage: errorPageRenderer({
      demo: weather.source === 'demo',
      demoCities: DEMO_CITIES.map((c) => c.name),
    }),
    secretKeys: SECRET_KEYS,
    routes: (app) => app.use(weatherRoutes(weather, { rateLimitPerMinute })),
  });
}

export function createWeatherProvider(
  config: WeatherConfig,
  { now }: { now?: () => number } = {},
): WeatherProvider {
  if (config.WEATHER_PROVIDER === 'demo') return new DemoWeatherProvider();
  return new OpenWeatherClient({
    apiKey: config.OPENWEATHER_API_KEY ?? '',
    baseUrl: config.OPENWEATHER_BASE_URL,
    timeoutMs: config.OPENWEATHER_TIMEOUT_MS,
    now,
  });
}

/** `now` lets tests move the cache's clock instead of waiting. */
export function createWeatherService(
  config: WeatherConfig,
  { now, logger }: { now?: () => number; logger?: Logger } = {},
): WeatherService {
  return new WeatherService(createWeatherProvider(config, { now }), {
    ttlMs: config.WEATHER_CACHE_TTL_SECONDS * 1000,
    notFoundTtlMs: config.WEATHER_NOT_FOUND_TTL_SECONDS * 1000,
    staleIfErrorMs: config.WEATHER_STALE_IF_ERROR_SECONDS * 1000,
    maxEntries: config.WEATHER_CACHE_MAX_ENTRIES,
    now,
    logger,
  });
}
