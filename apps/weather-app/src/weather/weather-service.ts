import { LRUCache } from 'lru-cache';
import { HttpError, type CheckResult, type Logger } from '@slipway/service-kit';
import type { City } from './city-input';
import { CityNotFoundError, type Units, type WeatherProvider, type WeatherReport } from './weather-report';

export type CacheStatus = 'hit' | 'miss' | 'stale';
export type WeatherLookup = { report: WeatherReport; cache: CacheStatus };

export type WeatherServiceOptions = {
  /** Fresh for this long. OpenWeather updates at most every 10 minutes. */
  ttlMs: number;
  /** After going stale, an entry may still be served this long if the upstream fails. */
  staleIfErrorMs: number;
  /** A "city not found" answer is remembered this long, so repeated lookups of an unknown city cost no quota. */
  notFoundTtlMs: number;
  /** Bounds memory (readings and not-found answers together): the least recently used entries go first. */
  maxEntries: number;
  now?: () => number;
  /**
   * Where a failed refresh that was answered from a stale entry is logged (one warn line per refresh, not
   * per request). A failure with no stale entry reaches the client, and the request log says it.
   */
  logger?: Logger;
};

type Entry = { report: WeatherReport; storedAt: number } | { notFound: CityNotFoundError; storedAt: number };

/**
 * How long a failed upstream call keeps `/health` at `warn` when nothing calls the upstream after it. Any
 * upstream answer (a reading or a "not found") clears it at once; see healthCheck().
 */
export const UPSTREAM_WARN_WINDOW_MS = 60_000;

/**
 * Sits in front of a provider: a TTL cache per (city, units), a short negative cache of "not found",
 * request coalescing (concurrent identical misses share one upstream call), an LRU size bound, and
 * stale-if-error. It also remembers the last upstream outcome for the health check.
 */
export class WeatherService {
  private readonly entries: LRUCache<string, Entry>;
  private readonly inFlight = new Map<string, Promise<WeatherLookup>>();
  private readonly now: () => number;
  private lastUpstreamFailure: { at: number; detail: string } | undefined;
  private upstreamCalls = 0;

  constructor(
    private readonly provider: WeatherProvider,
    private readonly options: WeatherServiceOptions,
  ) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
  }

  get source(): WeatherReport['source'] {
    return this.provider.source;
  }

  /** The only cities the provider answers for (the demo's sample set), for the pages to list; [] means any. */
  get knownCities(): readonly string[] {
    return this.provider.knownCities ?? [];
  }

  /** How many times the upstream provider has been called; for tests and benchmarks of upstream economy. */
  get upstreamCallCount(): number {
    return this.upstreamCalls;
  }

  /** A reading of `city` in `units`, from the cache or the provider; rejects with the provider's HttpErrors. */
  lookup(city: City, units: Units): Promise<WeatherLookup> {
    const key = `${units}:${city.key}`;
    const entry = this.entries.get(key);
    const age = entry ? this.now() - entry.storedAt : Infinity;
    if (entry && 'notFound' in entry) {
      if (age < this.options.notFoundTtlMs) return Promise.reject(entry.notFound);
      this.entries.delete(key);
    } else if (entry) {
      if (age < this.options.ttlMs) return Promise.resolve({ report: entry.report, cache: 'hit' });
      if (age >= this.options.ttlMs + this.options.staleIfErrorMs) this.entries.delete(key);
    }

    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.refresh(key, city, units).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async refresh(key: string, city: City, units: Units): Promise<WeatherLookup> {
    this.upstreamCalls += 1;
    try {
      const report = await this.provider.getCurrentWeather(city, units);
      this.entries.set(key, { report, storedAt: this.now() });
      this.lastUpstreamFailure = undefined;
      return { report, cache: 'miss' };
    } catch (error) {
      if (error instanceof CityNotFoundError) {
        // "Not found" is an answer: the upstream works. A stale reading of the city is dropped with it.
        this.lastUpstreamFailure = undefined;
        if (this.options.notFoundTtlMs > 0) this.entries.set(key, { notFound: error, storedAt: this.now() });
        throw error;
      }
      this.lastUpstreamFailure = {
        at: this.now(),
        detail: error instanceof Error ? error.message : 'failed',
      };
      const stale = this.entries.get(key);
      if (stale && 'report' in stale) {
        this.options.logger?.warn(
          {
            problem: {
              type: error instanceof HttpError ? (error.options.type ?? 'about:blank') : 'unexpected',
              status: error instanceof HttpError ? error.status : 500,
              cause:
                error instanceof HttpError ? String(error.options.cause ?? error.message) : String(error),
            },
            city: city.query,
            units,
          },
          'upstream failed; serving the last reading (stale-if-error)',
        );
        return { report: stale.report, cache: 'stale' };
      }
      throw error;
    }
  }

  /**
   * Upstream trouble is a `warn`: the service still answers from cache and maps errors, so it stays in
   * rotation, and every probe (the image's HEALTHCHECK, `slipway verify`) counts `warn` as healthy.
   * `warn` holds while the most recent upstream call failed (refused by the Retry-After circuit included),
   * and clears on the next upstream answer, a reading or a "not found". With no upstream call after the
   * failure it clears UPSTREAM_WARN_WINDOW_MS later: no evidence of trouble is left, and a probe must not
   * report an outage that nobody is seeing.
   */
  healthCheck(): CheckResult {
    const componentType = 'component';
    if (this.provider.source === 'demo')
      return { status: 'pass', componentType, output: 'embedded demo provider' };
    if (!this.lastUpstreamFailure) return { status: 'pass', componentType };
    if (this.now() - this.lastUpstreamFailure.at >= UPSTREAM_WARN_WINDOW_MS) {
      return {
        status: 'pass',
        componentType,
        output: `no upstream failure in the last ${UPSTREAM_WARN_WINDOW_MS / 1000} s`,
      };
    }
    return {
      status: 'warn',
      componentType,
      output: this.lastUpstreamFailure.detail,
      time: new Date(this.lastUpstreamFailure.at).toISOString(),
    };
  }
}
