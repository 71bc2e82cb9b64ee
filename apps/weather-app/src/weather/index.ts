// The weather module's one door: app.ts mounts what createWeatherModule returns and imports nothing else from
// this folder. Inside, a request goes route (routes.ts) -> input (city-input.ts) -> service (weather-service.ts,
// cache and coalescing) -> provider (openweather-client.ts or demo-provider.ts) -> view (views.ts).
import type { ErrorPageRenderer, HealthCheck, Logger } from '@slipway/service-kit';
import type { Router } from 'express';
import type { WeatherConfig } from '../config';
import { DemoWeatherProvider } from './demo-provider';
import { OpenWeatherClient } from './openweather-client';
import { weatherRoutes } from './routes';
import { errorPageRenderer } from './views';
import type { WeatherProvider, WeatherReport } from './weather-report';
import { WeatherService } from './weather-service';

export type { City } from './city-input';
export type { Units, WeatherProvider, WeatherReport } from './weather-report';

export type WeatherModule = {
  /** Where readings come from: `openweather`, or `demo` (the embedded sample data). */
  readonly source: WeatherReport['source'];
  /** `GET /`, `POST /weather`, `GET /api/weather`: mount it at the root. */
  readonly router: Router;
  /** The check to register with the chassis's HealthRegistry under `name` (`<source>:responses`). */
  readonly health: { readonly name: string; readonly check: HealthCheck };
  /** This module's HTML error page (in demo mode it carries the demo label and the cities the demo knows). */
  readonly renderErrorPage: ErrorPageRenderer;
  /** How many times the provider has been called; for tests and benchmarks of upstream economy. */
  readonly upstreamCallCount: number;
};

export type WeatherModuleOptions = {
  /** Where a failed refresh answered from a stale entry is logged. */
  logger?: Logger;
  /** The clock of the cache and of the Retry-After circuit; tests move it instead of waiting. */
  now?: () => number;
  /** Replaces the provider the configuration picks; for tests of how the module handles a provider's failures. */
  provider?: WeatherProvider;
};

/** OpenWeather, or the embedded demo data when WEATHER_PROVIDER is `demo` (no API key: see config.ts). */
function providerFor(config: WeatherConfig, now: (() => number) | undefined): WeatherProvider {
  if (config.WEATHER_PROVIDER === 'demo') return new DemoWeatherProvider();
  return new OpenWeatherClient({
    apiKey: config.OPENWEATHER_API_KEY ?? '',
    baseUrl: config.OPENWEATHER_BASE_URL,
    timeoutMs: config.OPENWEATHER_TIMEOUT_MS,
    now,
  });
}

/**
 * The weather module, wired from the validated configuration (weatherEnvSchema): the provider, the service in
 * front of it (cache lifetimes from the WEATHER_* variables, seconds turned into milliseconds), the routes with
 * the optional per-client limit (WEATHER_RATE_LIMIT_PER_MINUTE), the health check and the error page.
 */
export function createWeatherModule(
  config: WeatherConfig,
  { logger, now, provider = providerFor(config, now) }: WeatherModuleOptions = {},
): WeatherModule {
  const service = new WeatherService(provider, {
    ttlMs: config.WEATHER_CACHE_TTL_SECONDS * 1000,
    notFoundTtlMs: config.WEATHER_NOT_FOUND_TTL_SECONDS * 1000,
    staleIfErrorMs: config.WEATHER_STALE_IF_ERROR_SECONDS * 1000,
    maxEntries: config.WEATHER_CACHE_MAX_ENTRIES,
    now,
    logger,
  });
  return {
    source: service.source,
    router: weatherRoutes(service, { rateLimitPerMinute: config.WEATHER_RATE_LIMIT_PER_MINUTE }),
    health: { name: `${service.source}:responses`, check: () => service.healthCheck() },
    renderErrorPage: errorPageRenderer({ demo: service.source === 'demo', demoCities: service.knownCities }),
    get upstreamCallCount() {
      return service.upstreamCallCount;
    },
  };
}
