import { HttpError } from '@slipway/service-kit';
import type { City } from './city-input';

export const UNITS = ['imperial', 'metric'] as const;
export type Units = (typeof UNITS)[number];

/**
 * One reading. The upstream may leave fields out of an otherwise good answer (a partial reading): a value
 * it did not give is `null` (or `''` for the country), never invented. `city` falls back to what the user
 * asked for when the upstream names no place.
 */
export type WeatherReport = {
  city: string;
  /** ISO 3166 alpha-2 code, or '' when the upstream gave none. */
  country: string;
  /** Rounded to a whole degree, as the original sample shows it. */
  temperature: number | null;
  temperatureUnit: '°F' | '°C';
  /** Relative humidity in percent, 0 to 100. */
  humidity: number | null;
  description: string | null;
  units: Units;
  source: 'openweather' | 'demo';
  /** ISO 8601 time of the observation, as the upstream reported it. */
  observedAt: string | null;
};

/** Where weather comes from: OpenWeather, or the embedded demo data when no API key is configured. */
export interface WeatherProvider {
  readonly source: WeatherReport['source'];
  /** The only cities this provider answers for, by display name (the demo's sample set); absent: any city. */
  readonly knownCities?: readonly string[];
  /** Throws CityNotFoundError for a city the provider does not know, an UpstreamError when it cannot answer. */
  getCurrentWeather(city: City, units: Units): Promise<WeatherReport>;
}

export function temperatureUnitFor(units: Units): WeatherReport['temperatureUnit'] {
  return units === 'metric' ? '°C' : '°F';
}

/**
 * Failures of a weather lookup, each with the HTTP answer our clients get. Messages are written here, never
 * copied from upstream, so neither the API key nor upstream internals can leak into a page or a log.
 */
export class CityNotFoundError extends HttpError {
  constructor(
    city: string,
    detail = `No weather found for "${city}". Check the spelling, or add a country code: "Paris,FR".`,
  ) {
    super(404, detail, { type: 'city-not-found', title: 'City not found' });
  }
}

export class UpstreamError extends HttpError {}

export const upstreamErrors = {
  unauthorized: (status: number) =>
    new UpstreamError(502, 'The weather service rejected our credentials. The operators have been told.', {
      type: 'upstream-unauthorized',
      title: 'Bad Gateway',
      cause: `HTTP ${status}`,
    }),
  rateLimited: (retryAfterSeconds: number, cause: string) =>
    new UpstreamError(503, 'The weather service is rate-limiting us. Please try again shortly.', {
      type: 'upstream-rate-limited',
      title: 'Service Unavailable',
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause,
    }),
  timeout: (timeoutMs: number) =>
    new UpstreamError(504, `The weather service did not answer within ${timeoutMs} ms.`, {
      type: 'upstream-timeout',
      title: 'Gateway Timeout',
      cause: `no answer within ${timeoutMs} ms`,
    }),
  /** `cause` names what was wrong (a field and its rule), for our logs; clients get the fixed detail. */
  malformed: (cause: string) =>
    new UpstreamError(502, 'The weather service sent an answer we could not read.', {
      type: 'upstream-malformed',
      title: 'Bad Gateway',
      cause,
    }),
  tooLarge: (cause: string) =>
    new UpstreamError(502, 'The weather service sent an answer far larger than a weather reading.', {
      type: 'upstream-too-large',
      title: 'Bad Gateway',
      cause,
    }),
  unavailable: (what: string, cause: string = what) =>
    new UpstreamError(502, `The weather service is unavailable (${what}).`, {
      type: 'upstream-unavailable',
      title: 'Bad Gateway',
      cause,
    }),
};
