import { createServiceApp, HealthRegistry, type Logger, type VersionInfo } from '@slipway/service-kit';
import type { Express } from 'express';
import { DemoWeatherProvider } from './weather/demo-provider';
import { OpenWeatherClient } from './weather/openweather-client';
import { weatherRoutes } from './weather/routes';
import { renderErrorPage } from './weather/views';
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
  production: boolean;
};

/** The express app, without listening: server.ts listens, tests use supertest. */
export function createApp({ logger, version, weather, health, production }: AppDependencies): Express {
  health.register(`${weather.source}:responses`, () => weather.healthCheck());
  return createServiceApp({
    logger,
    health,
    version,
    production,
    renderErrorPage,
    secretKeys: SECRET_KEYS,
    routes: (app) => app.use(weatherRoutes(weather)),
  });
}

export function createWeatherProvider(config: WeatherConfig): WeatherProvider {
  if (config.WEATHER_PROVIDER === 'demo') return new DemoWeatherProvider();
  return new OpenWeatherClient({
    apiKey: config.OPENWEATHER_API_KEY ?? '',
    baseUrl: config.OPENWEATHER_BASE_URL,
    timeoutMs: config.OPENWEATHER_TIMEOUT_MS,
  });
}

/** `now` lets tests move the cache's clock instead of waiting. */
export function createWeatherService(
  config: WeatherConfig,
  { now }: { now?: () => number } = {},
): WeatherService {
  return new WeatherService(createWeatherProvider(config), {
    ttlMs: config.WEATHER_CACHE_TTL_SECONDS * 1000,
    staleIfErrorMs: config.WEATHER_STALE_IF_ERROR_SECONDS * 1000,
    maxEntries: config.WEATHER_CACHE_MAX_ENTRIES,
    now,
  });
}
