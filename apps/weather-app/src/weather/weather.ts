import { HttpError } from '@slipway/service-kit';

export const UNITS = ['imperial', 'metric'] as const;
export type Units = (typeof UNITS)[number];

export type WeatherReport = {
  city: string;
  country: string;
  /** Rounded to a whole degree, as the original sample shows it. */
  temperature: number;
  temperatureUnit: '°F' | '°C';
  humidity: number;
  description: string;
  units: Units;
  source: 'openweather' | 'demo';
  observedAt: string;
};

/** Where weather comes from: OpenWeather, or the embedded demo data when no API key is configured. */
export interface WeatherProvider {
  readonly source: WeatherReport['source'];
  getCurrentWeather(city: string, units: Units): Promise<WeatherReport>;
}

export function temperatureUnitFor(units: Units): WeatherReport['temperatureUnit'] {
  return units === 'metric' ? '°C' : '°F';
}

/**
 * Failures of a weather lookup, each with the HTTP answer our clients get. Messages are written here, never
 * copied from upstream, so neither the API key nor upstream internals can leak into a page or a log.
 */
export class CityNotFoundError extends HttpError {
  constructor(city: string) {
    super(404, `No weather found for "${city}". Check the spelling, or add a country code: "Paris,FR".`, {
      type: 'city-not-found',
      title: 'City not found',
    });
  }
}

export class UpstreamError extends HttpError {}

export const upstreamErrors = {
  unauthorized: () =>
    new UpstreamError(502, 'The weather service rejected our credentials. The operators have been told.', {
      type: 'upstream-unauthorized',
      title: 'Bad Gateway',
    }),
  rateLimited: (retryAfterSeconds: number) =>
    new UpstreamError(503, 'The weather service is rate-limiting us. Please try again shortly.', {
      type: 'upstream-rate-limited',
      title: 'Service Unavailable',
      headers: { 'retry-after': String(retryAfterSeconds) },
    }),
  timeout: (timeoutMs: number) =>
    new UpstreamError(504, `The weather service did not answer within ${timeoutMs} ms.`, {
      type: 'upstream-timeout',
      title: 'Gateway Timeout',
    }),
  malformed: () =>
    new UpstreamError(502, 'The weather service sent an answer we could not read.', {
      type: 'upstream-malformed',
      title: 'Bad Gateway',
    }),
  unavailable: (what: string) =>
    new UpstreamError(502, `The weather service is unavailable (${what}).`, {
      type: 'upstream-unavailable',
      title: 'Bad Gateway',
    }),
};
