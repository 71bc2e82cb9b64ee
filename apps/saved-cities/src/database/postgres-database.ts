import type { Logger } from '@slipway/service-kit';
import pg from 'pg';
import { isConnectionLost, repeatOnceIfConnectionLost } from './connection-lost';
import { withTimeout, type Database, type QueryOptions, type SqlExecutor } from './database';

export interface PostgresOptions {
  connectionString: string;
  /** Most connections the pool opens. */
  maxConnections: number;
  /** A connection idle this long is closed by the pool (ms); keep it below the server's and pooler's idle timeouts. */
  idleTimeoutMs: number;
  /** How long to wait for a new connection (ms) before the query fails as unavailable. */
  connectTimeoutMs: number;
  /** Client-side bound on each query (ms), which also covers a network that stops answering. */
  queryTimeoutMs: number;
  applicationName: string;
  logger: Logger;
}

function errorSummary(error: unknown): { message: string; code?: string } {
  const { message, code } = error as { message?: unknown; code?: unknown };
  return {
    message: typeof message === 'string' ? message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/**
 * Postgres through node-postgres's Pool. Two things keep a closed connection from reaching a user:
 * - the pool's `error` event is handled, so an idle connection the server terminates (idle_session_timeout,
 *   pg_terminate_backend, a pooler's timeout, a failover) is dropped and replaced instead of stopping the process;
 * - a statement the caller marks safe to repeat is repeated once on a fresh connection when its own
 *   connection turns out to be dead (repeatOnceIfConnectionLost).
 */
export function createPostgresDatabase(options: PostgresOptions): Database {
  const { logger } = options;
  const clientConfig: pg.ClientConfig = {
    connectionString: options.connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    application_name: options.applicationName,
  };
  const pool = new pg.Pool({
    ...clientConfig,
    max: options.maxConnections,
    idleTimeoutMillis: options.idleTimeoutMs,
  });
  pool.on('error', (error) => {
    logger.warn(
      { err: errorSummary(error) },
      'the database closed an idle pooled connection; the pool drops it and opens a new one when needed',
    );
  });
  const onRepeat = (error: unknown) =>
    logger.warn({ err: errorSummary(error) }, 'database connection lost mid-query; repeating it once');

  // A repeat runs on a connection opened for it, outside the pool, and closed after: the pool's other idle
  // connections may have been ended in the same moment as the one that failed. Repeats are rare, so this
  // briefly exceeding the pool's size is bounded by the requests in flight.
  async function freshClient(): Promise<{ client: pg.Client; release: (destroy: boolean) => void }> {
    const client = new pg.Client(clientConfig);
    client.on('error', () => undefined);
    await client.connect();
    return { client, release: () => void client.end().catch(() => undefined) };
  }

  async function pooledClient(): Promise<{ client: pg.PoolClient; release: (destroy: boolean) => void }> {
    const client = await pool.connect();
    return { client, release: (destroy) => client.release(destroy) };
  }

  async function queryOnce<R extends object>(text: string, params: unknown[], fresh: boolean) {
    if (!fresh) return pool.query<R & pg.QueryResultRow>(text, params);
    const { client, release } = await freshClient();
    try {
      return await client.query<R & pg.QueryResultRow>(text, params);
    } finally {
      release(true);
    }
  }

  async function transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>, fresh: boolean): Promise<T> {
    const { client, release } = fresh ? await freshClient() : await pooledClient();
    // A checked-out client has no listener of the pool's; without one, its connection dying between two
    // statements would be an unhandled 'error' event, which stops the process.
    let lost: unknown;
    const onClientError = (error: unknown) => {
      lost = error;
    };
    client.on('error', onClientError);
    let destroy = false;
    try {
      await client.query('BEGIN');
      const result = await work(client as SqlExecutor);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      destroy = lost !== undefined || isConnectionLost(error);
      if (!destroy) {
        await client.query('ROLLBACK').catch(() => {
          destroy = true;
        });
      }
      throw error;
    } finally {
      client.off('error', onClientError);
      // release(true) destroys the client instead of returning a broken connection to the pool.
      release(destroy || lost !== undefined);
    }
  }

  return {
    engine: 'postgres',
    embedded: false,
    async query<R extends object>(text: string, params: unknown[] = [], queryOptions: QueryOptions = {}) {
      const result = await repeatOnceIfConnectionLost(
        queryOptions.safeToRepeat === true,
        (fresh) => queryOnce<R>(text, params, fresh),
        onRepeat,
      );
      return result.rows;
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>, queryOptions: QueryOptions = {}) {
      return repeatOnceIfConnectionLost(
        queryOptions.safeToRepeat === true,
        (fresh) => transactionOnce(work, fresh),
        onRepeat,
      );
    },
    async withSession<T>(work: (session: SqlExecutor) => Promise<T>) {
      const client = await pool.connect();
      const onClientError = () => {};
      client.on('error', onClientError);
      let failed = false;
      try {
        return await work(client as SqlExecutor);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        client.off('error', onClientError);
        // Session state (an advisory lock, a failed transaction) must not reach the next user of the connection.
        client.release(failed);
      }
    },
    async ping(timeoutMs: number) {
      await withTimeout(
        repeatOnceIfConnectionLost(true, (fresh) => queryOnce('SELECT 1', [], fresh), onRepeat),
        timeoutMs,
        'Postgres',
      );
    },
    async close() {
      await pool.end();
    },
  };
}
