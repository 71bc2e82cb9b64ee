import { PGlite } from '@electric-sql/pglite';
import { withTimeout, type Database, type SqlExecutor } from './database';

/**
 * The embedded default: Postgres compiled to WebAssembly, in this process and in memory. It needs no server, so
 * the service starts on a fresh machine; it is one connection, so statements run one at a time, and its data
 * is lost when the process stops.
 */
export async function createPgliteDatabase(): Promise<Database> {
  const db = await PGlite.create();
  const executor: SqlExecutor = db as unknown as SqlExecutor;
  return {
    engine: 'pglite',
    embedded: true,
    async query<R extends object>(text: string, params: unknown[] = []) {
      return (await db.query<R>(text, params)).rows;
    },
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>) {
      return db.transaction((tx) => work(tx as unknown as SqlExecutor));
    },
    withSession<T>(work: (session: SqlExecutor) => Promise<T>) {
      return work(executor);
    },
    async ping(timeoutMs: number) {
      await withTimeout(db.query('SELECT 1'), timeoutMs, 'PGlite');
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
