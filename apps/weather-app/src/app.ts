import { createServiceApp, type HealthRegistry, type Logger, type VersionInfo } from '@slipway/service-kit';
import type { Express } from 'express';
import type { WeatherModule } from './weather';

/** This service's own secrets, censored in its logs besides the chassis's generic names. */
export const SECRET_KEYS: readonly string[] = ['OPENWEATHER_API_KEY'];

export type AppDependencies = {
  logger: Logger;
  version: VersionInfo;
  health: HealthRegistry;
  /** The weather module (createWeatherModule in ./weather): its routes, health check and error page. */
  weather: WeatherModule;
  /** Show unknown errors' stacks to clients (EXPOSE_STACK_TRACES); off by default. */
  exposeStackTraces?: boolean;
};

/** The express app, without listening: server.ts listens, tests use supertest. The chassis plus one module. */
export function createApp({
  logger,
  version,
  health,
  weather,
  exposeStackTraces = false,
}: AppDependencies): Express {
  health.register(weather.health.name, weather.health.check);
  return createServiceApp({
    logger,
    health,
    version,
    exposeStackTraces,
    renderErrorPage: weather.renderErrorPage,
    secretKeys: SECRET_KEYS,
    routes: (app) => app.use(weather.router),
  });
}
