import { Agent, errors as undiciErrors, request } from 'undici';
import { z } from 'zod';
import {
  CityNotFoundError,
  temperatureUnitFor,
  upstreamErrors,
  type Units,
  type WeatherProvider,
  type WeatherReport,
} from './weather';

export type OpenWeatherOptions = {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
};

// The fields we use from https://openweathermap.org/current; anything else may change freely.
const currentWeatherSchema = z.object({
  name: z.string(),
  sys: z.object({ country: z.string().optional() }).optional(),
  main: z.object({ temp: z.number(), humidity: z.number() }),
  weather: z.array(z.object({ description: z.string() })).min(1),
  dt: z.number().optional(),
});

const DEFAULT_RETRY_AFTER_SECONDS = 60;

function retryAfterSeconds(header: string | string[] | undefined): number {
  const value = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : DEFAULT_RETRY_AFTER_SECONDS;
}

/** Calls OpenWeather's current weather API with a timeout on every call, over a keep-alive connection pool. */
export class OpenWeatherClient implements WeatherProvider {
  readonly source = 'openweather' as const;
  private readonly dispatcher: Agent;
  private readonly endpoint: URL;

  constructor(private readonly options: OpenWeatherOptions) {
    this.endpoint = new URL('/data/2.5/weather', options.baseUrl);
    this.dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 32 });
  }

  async getCurrentWeather(city: string, units: Units): Promise<WeatherReport> {
    const url = new URL(this.endpoint);
    // URLSearchParams encodes `&`, `=`, `#` and the rest, so a city can never add or override parameters.
    url.search = new URLSearchParams({ q: city, appid: this.options.apiKey, units }).toString();

    let response;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw this.transportError(error);
    }

    const { statusCode, headers, body } = response;
    let text: string;
    try {
      text = await body.text();
    } catch (error) {
      throw this.transportError(error);
    }

    if (statusCode === 404) throw new CityNotFoundError(city);
    if (statusCode === 401 || statusCode === 403) throw upstreamErrors.unauthorized();
    if (statusCode === 429) throw upstreamErrors.rateLimited(retryAfterSeconds(headers['retry-after']));
    if (statusCode < 200 || statusCode >= 300) throw upstreamErrors.unavailable(`HTTP ${statusCode}`);

    let parsed;
    try {
      parsed = currentWeatherSchema.safeParse(JSON.parse(text));
    } catch {
      throw upstreamErrors.malformed();
    }
    if (!parsed.success) throw upstreamErrors.malformed();

    const data = parsed.data;
    return {
      city: data.name,
      country: data.sys?.country ?? '',
      temperature: Math.round(data.main.temp),
      temperatureUnit: temperatureUnitFor(units),
      humidity: Math.round(data.main.humidity),
      description: data.weather[0]?.description ?? '',
      units,
      source: 'openweather',
      observedAt: new Date((data.dt ?? Date.now() / 1000) * 1000).toISOString(),
    };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  // undici's errors may quote the request URL, which holds the key; we never pass them on.
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
    return upstreamErrors.unavailable(code ? `connection failed: ${code}` : 'connection failed');
  }
}
