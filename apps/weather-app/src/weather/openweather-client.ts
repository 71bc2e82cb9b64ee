import { errors as undiciErrors, request } from 'undici';
import { z } from 'zod';
import type { City } from './city-input';
import { createUpstreamDispatcher, UpstreamAttempts, type UpstreamDispatcher } from './upstream-dispatcher';
import {
  CityNotFoundError,
  temperatureUnitFor,
  upstreamErrors,
  type Units,
  type WeatherProvider,
  type WeatherReport,
} from './weather-report';

export type OpenWeatherOptions = {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
  /** The clock of the Retry-After circuit; tests move it instead of waiting. */
  now?: () => number;
};

/**
 * A current-weather answer is under 1 KB; 64 KiB leaves room for any growth of the format while a hostile
 * or broken upstream can cost us at most that much memory per call. A larger Content-Length is refused at
 * once, and undici stops reading a body (chunked or lying about its length) past the cap.
 */
export const MAX_UPSTREAM_BODY_BYTES = 64 * 1024;

/** Retry-After bounds: a value outside is clamped, so an absurd header can neither stop us for years nor pass through. */
export const RETRY_AFTER_DEFAULT_SECONDS = 60;
export const RETRY_AFTER_MAX_SECONDS = 15 * 60;

// Observation times OpenWeather can honestly report: after 2000-01-01 and at most a day ahead of our clock.
const EARLIEST_OBSERVATION_S = 946_684_800;
const FUTURE_SLACK_S = 86_400;
// Beyond the records measured on Earth (-89.2 °C, 56.7 °C), with a margin.
const TEMPERATURE_RANGE: Record<Units, readonly [number, number]> = {
  metric: [-100, 100],
  imperial: [-148, 212],
};

// Missing (absent, null or blank) is a partial reading, rendered without the value; present but of the
// wrong type or out of range is a malformed answer (502). Text fields refuse control characters.
const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    .nullish()
    .transform((value) => (value?.trim() ? value.trim() : null));

// The fields we use from https://openweathermap.org/current; anything else may change freely.
const currentWeatherSchema = z.object({
  name: optionalText(200),
  sys: z
    .object({
      country: optionalText(2).refine((code) => code === null || /^[A-Za-z]{2}$/.test(code), {
        message: 'must be a two-letter country code',
      }),
    })
    .nullish(),
  main: z
    .object({
      temp: z.number().nullish(),
      humidity: z.number().min(0).max(100).nullish(),
    })
    .nullish(),
  weather: z.array(z.object({ description: optionalText(200) }).nullish()).nullish(),
  dt: z.number().int().min(EARLIEST_OBSERVATION_S).nullish(),
});

/** Seconds to wait, from a Retry-After header (delay-seconds or an HTTP-date, RFC 9110 §10.2.3), clamped. */
export function retryAfterSeconds(header: string | string[] | undefined, nowMs: number): number {
  const raw = (Array.isArray(header) ? header[0] : header)?.trim();
  let seconds = Number.NaN;
  if (raw && /^\d+$/.test(raw)) seconds = Number(raw);
  // An IMF-fixdate starts with the day name ("Sun, 06 Nov 1994 08:49:37 GMT"); Date.parse alone would
  // also read "-5" as a year.
  else if (raw && /^[A-Za-z]{3}, /.test(raw)) seconds = (Date.parse(raw) - nowMs) / 1000;
  if (!Number.isFinite(seconds)) return RETRY_AFTER_DEFAULT_SECONDS;
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(1, Math.ceil(seconds)));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`));
  return `${path.join('').replace(/^\./, '') || '(body)'}: ${issue.message}`;
}

/**
 * Calls OpenWeather's current weather API with a timeout on every call, over a keep-alive connection pool
 * (see upstream-dispatcher.ts for what is retried). After a 429 it stops calling for the Retry-After period,
 * for every caller: a circuit that answers 503 with the remaining wait until it has passed.
 */
export class OpenWeatherClient implements WeatherProvider {
  readonly source = 'openweather' as const;
  private readonly upstream: UpstreamDispatcher;
  private readonly endpoint: URL;
  private readonly now: () => number;
  private rateLimitedUntil = 0;

  constructor(private readonly options: OpenWeatherOptions) {
    this.endpoint = new URL('/data/2.5/weather', options.baseUrl);
    this.upstream = createUpstreamDispatcher({ connections: 32, maxResponseBytes: MAX_UPSTREAM_BODY_BYTES });
    this.now = options.now ?? Date.now;
  }

  async getCurrentWeather(city: City, units: Units): Promise<WeatherReport> {
    const waitMs = this.rateLimitedUntil - this.now();
    if (waitMs > 0) {
      throw upstreamErrors.rateLimited(
        Math.ceil(waitMs / 1000),
        'not called: still inside the Retry-After period of an earlier HTTP 429',
      );
    }

    const url = new URL(this.endpoint);
    // URLSearchParams encodes `&`, `=`, `#` and the rest, so a city can never add or override parameters.
    url.search = new URLSearchParams({ q: city.query, appid: this.options.apiKey, units }).toString();

    let response;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.upstream.dispatcher,
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
        opaque: new UpstreamAttempts(),
      });
    } catch (error) {
      throw this.transportError(error);
    }

    const { statusCode, headers, body } = response;
    if (statusCode < 200 || statusCode >= 300) {
      // The status says everything we use; the body is discarded unread (undici closes the socket if it is long).
      await body.dump().catch(() => undefined);
      throw this.statusError(statusCode, headers['retry-after'], city.query);
    }
    const declaredLength = Number(headers['content-length']);
    if (declaredLength > MAX_UPSTREAM_BODY_BYTES) {
      body.destroy();
      throw upstreamErrors.tooLarge(
        `Content-Length ${declaredLength} exceeds the ${MAX_UPSTREAM_BODY_BYTES}-byte cap`,
      );
    }

    let text: string;
    try {
      text = await body.text();
    } catch (error) {
      throw this.transportError(error);
    }
    return this.reading(text, city.query, units);
  }

  private statusError(statusCode: number, retryAfter: string | string[] | undefined, city: string) {
    if (statusCode === 404) return new CityNotFoundError(city);
    if (statusCode === 401 || statusCode === 403) return upstreamErrors.unauthorized(statusCode);
    if (statusCode === 429) {
      const seconds = retryAfterSeconds(retryAfter, this.now());
      this.rateLimitedUntil = this.now() + seconds * 1000;
      return upstreamErrors.rateLimited(seconds, `HTTP 429, waiting ${seconds} s before calling again`);
    }
    return upstreamErrors.unavailable(`HTTP ${statusCode}`);
  }

  /** Validates the answer field by field: a missing value is a partial reading, a wrong one a 502. */
  private reading(text: string, requestedCity: string, units: Units): WeatherReport {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw upstreamErrors.malformed('body is not JSON');
    }
    const parsed = currentWeatherSchema.safeParse(json);
    if (!parsed.success) throw upstreamErrors.malformed(parsed.error.issues.map(describeIssue).join('; '));
    const data = parsed.data;

    const temperature = data.main?.temp ?? null;
    const [lowest, highest] = TEMPERATURE_RANGE[units];
    if (temperature !== null && (temperature < lowest || temperature > highest)) {
      throw upstreamErrors.malformed(
        `main.temp: outside ${lowest} to ${highest} ${temperatureUnitFor(units)}`,
      );
    }
    if (data.dt !== null && data.dt !== undefined && data.dt > this.now() / 1000 + FUTURE_SLACK_S) {
      throw upstreamErrors.malformed('dt: more than a day in the future');
    }
    const humidity = data.main?.humidity ?? null;
    const description = data.weather?.[0]?.description ?? null;
    if (temperature === null && humidity === null && description === null) {
      throw upstreamErrors.malformed(
        'no reading: main.temp, main.humidity and weather[0].description are all missing',
      );
    }
    return {
      // OpenWeather answers for the place it found; with no name given, the place asked for is the honest label.
      city: data.name ?? requestedCity,
      country: data.sys?.country?.toUpperCase() ?? '',
      temperature: temperature === null ? null : Math.round(temperature),
      temperatureUnit: temperatureUnitFor(units),
      humidity: humidity === null ? null : Math.round(humidity),
      description,
      units,
      source: 'openweather',
      observedAt: data.dt === null || data.dt === undefined ? null : new Date(data.dt * 1000).toISOString(),
    };
  }

  async close(): Promise<void> {
    await this.upstream.close();
  }

  // undici's errors may quote the request URL, which holds the key: clients get our own words only, and the
  // cause kept for our logs has the key cut out.
  private transportError(error: unknown) {
    const name = (error as { name?: string } | null)?.name;
    if (
      name === 'TimeoutError' ||
      name === 'AbortError' ||
      error instanceof undiciErrors.HeadersTimeoutError
    ) {
      return upstreamErrors.timeout(this.options.timeoutMs);
    }
    const code = (error as { code?: string } | null)?.code;
    if (error instanceof undiciErrors.ResponseExceededMaxSizeError) {
      return upstreamErrors.tooLarge(`body exceeded the ${MAX_UPSTREAM_BODY_BYTES}-byte cap`);
    }
    const message =
      error instanceof Error && this.options.apiKey
        ? error.message.split(this.options.apiKey).join('[Redacted]')
        : '';
    return upstreamErrors.unavailable(
      code ? `connection failed: ${code}` : 'connection failed',
      [code, message].filter(Boolean).join(' '),
    );
  }
}
