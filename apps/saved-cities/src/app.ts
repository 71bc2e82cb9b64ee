import { createServiceApp, type HealthRegistry, type Logger, type VersionInfo } from '@slipway/service-kit';
import type { Express } from 'express';
import type { CitiesModule } from './cities';

export type AppDependencies = {
  logger: Logger;
  version: VersionInfo;
  health: HealthRegistry;
  exposeStackTraces: boolean;
  /** This app's secret names (its declaration), censored in logged request URLs. */
  secretKeys: readonly string[];
  /** The cities module (createCitiesModule in ./cities): its routes and its database health check. */
  cities: CitiesModule;
};

/** The express app, without listening: server.ts listens, tests use supertest. The chassis plus one module. */
export function createApp({
  logger,
  version,
  health,
  exposeStackTraces,
  secretKeys,
  cities,
}: AppDependencies): Express {
  health.register(cities.health.name, cities.health.check);
  return createServiceApp({
    logger,
    health,
    version,
    exposeStackTraces,
    secretKeys,
    routes: (app) => app.use(cities.router),
  });
}
