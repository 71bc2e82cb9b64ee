import { LRUCache } from 'lru-cache';
import type { CheckResult } from '@slipway/service-kit';
import { CityNotFoundError, type Units, type WeatherProvider, type WeatherReport } from './weather';

export type CacheStatus = 'hit' | 'miss' | 'stale';
export type WeatherLookup = { report: WeatherReport; cache: CacheStatus };

export type WeatherCacheOptions = {
  /** Fresh for this long. OpenWeather updates at most every 10 minutes. */
  ttlMs: number;
  /** After going stale, an entry may still be served this long if the upstream fails. */
  staleIfErrorMs: number;
  /** Bounds memory: the least recently used entries go first. */
  maxEntries: number;
  now?: () => number;
};

type Entry = { report: WeatherReport; storedAt: number };

/**
 * Sits in front of a provider: a TTL cache per (city, units), request coalescing (concurrent identical
 * misses share one upstream call), an LRU size bound, and stale-if-error. It also remembers the last
 * upstream outcome for the health check.
 */
export class WeatherService {
  private readonly entries: LRUCache<string, Entry>;
  private readonly inFlight = new Map<string, Promise<WeatherLookup>>();
  private readonly now: () => number;
  private lastUpstreamFailure: { at: number; detail: string } | undefined;
  private upstreamCalls = 0;

  constructor(
    private readonly provider: WeatherProvider,
    private readonly options: WeatherCacheOptions,
  ) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
  }

  get source(): WeatherReport['source'] {
    return this.provider.source;
  }

  /** How many times the upstream provider has been called; for tests and benchmarks of upstream economy. */
  get upstreamCallCount(): number {
    return this.upstreamCalls;
  }

  lookup(city: string, units: Units): Promise<WeatherLookup> {
    const key = `${units}:${city.normalize('NFC').toLowerCase()}`;
    const entry = this.entries.get(key);
    const age = entry ? this.now() - entry.storedAt : Infinity;
    if (entry && age < this.options.ttlMs) return Promise.resolve({ report: entry.report, cache: 'hit' });
    if (entry && age >= this.options.ttlMs + this.options.staleIfErrorMs) this.entries.delete(key);

    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.refresh(key, city, units).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async refresh(key: string, city: string, units: Units): Promise<WeatherLookup> {
    this.upstreamCalls += 1;
    try {
      const report = await this.provider.getCurrentWeather(city, units);
      this.entries.set(key, { report, storedAt: this.now() });
      this.lastUpstreamFailure = undefined;
      return { report, cache: 'miss' };
    } catch (error) {
      if (error instanceof CityNotFoundError) throw error;
      this.lastUpstreamFailure = {
        at: this.now(),
        detail: error instanceof Error ? error.message : 'failed',
      };
      const stale = this.entries.get(key);
      if (stale) return { report: stale.report, cache: 'stale' };
      throw error;
    }
  }

  /** Upstream trouble is a `warn`: the service still answers from cache and maps errors, so it stays in rotation. */
  healthCheck(): CheckResult {
    const componentType = 'component';
    if (this.provider.source === 'demo')
      return { status: 'pass', componentType, output: 'embedded demo provider' };
    if (!this.lastUpstreamFailure) return { status: 'pass', componentType };
    return {
      status: 'warn',
      componentType,
      output: this.lastUpstreamFailure.detail,
      time: new Date(this.lastUpstreamFailure.at).toISOString(),
    };
  }
}
