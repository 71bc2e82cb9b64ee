import type { CheckResult } from '@slipway/service-kit';
import { EMBEDDED_DATABASE_NOTICE, type Database } from './database';
import type { SchemaGate } from './schema-gate';

// Below the usual 1 s probe timeouts, so a hanging database fails the check instead of the probe.
const HEALTH_PING_TIMEOUT_MS = 800;

/**
 * The database check behind /health and /health/ready (/health/live never runs it): `fail` when the database
 * does not answer a ping within 800 ms, when the schema is behind this version (naming the pending
 * migrations) or could not be checked yet; `pass` otherwise, saying so when the database is the embedded one.
 */
export function databaseHealthCheck(database: Database, schema: SchemaGate): () => Promise<CheckResult> {
  const engine = database.engine === 'postgres' ? 'Postgres' : 'PGlite';
  return async () => {
    try {
      await database.ping(HEALTH_PING_TIMEOUT_MS);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { status: 'fail', componentType: 'datastore', output: `${engine} is unreachable: ${reason}` };
    }
    const state = schema.state;
    if (state.kind === 'behind') {
      return {
        status: 'fail',
        componentType: 'datastore',
        output: `the schema is behind this version; run the migrate step (pending: ${state.pending.join(', ')})`,
      };
    }
    if (state.kind === 'unchecked') {
      return { status: 'fail', componentType: 'datastore', output: state.reason };
    }
    return {
      status: 'pass',
      componentType: 'datastore',
      ...(database.embedded ? { output: EMBEDDED_DATABASE_NOTICE } : {}),
    };
  };
}
