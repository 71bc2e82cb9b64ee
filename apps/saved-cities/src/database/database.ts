/** Said wherever the embedded database is in use (start-up log, /health, every API answer). */
export const EMBEDDED_DATABASE_NOTICE =
  'embedded in-memory PGlite database: saved cities are lost when the process stops; set DATABASE_URL to use Postgres';

/** Anything that runs one SQL statement: the pool, a transaction, a migration session. */
export interface SqlExecutor {
  query<R extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface QueryOptions {
  /**
   * The caller asserts that running the statement twice is harmless: a read, or a write guarded by an idempotency
   * key. Only then is it repeated once when it failed because its pooled connection died (see connection-lost.ts).
   */
  safeToRepeat?: boolean;
}

/** The service's view of its database: Postgres through a pool, or the embedded PGlite. */
export interface Database {
  readonly engine: 'postgres' | 'pglite';
  /** True for the in-process PGlite: data lives in memory and is lost when the process stops. */
  readonly embedded: boolean;
  query<R extends object = Record<string, unknown>>(
    text: string,
    params?: unknown[],
    options?: QueryOptions,
  ): Promise<R[]>;
  /** Runs `work` in one transaction (READ COMMITTED); it commits when `work` resolves, else rolls back. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: QueryOptions): Promise<T>;
  /** One connection for a sequence of statements that must share a session (advisory locks in migrations). */
  withSession<T>(work: (session: SqlExecutor) => Promise<T>): Promise<T>;
  /** Resolves when a trivial query answers within `timeoutMs`; rejects with the reason otherwise. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The database could not be reached or lost the connection: clients get 503, not 500. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
