// Which failures mean "the connection under this query died", as opposed to "the query itself failed".
// Only these are worth repeating on a fresh connection, and only for statements that are safe to repeat.

// SQLSTATE class 08 (connection exception) and the 57P0x operator interventions that end a session:
// 57P01 admin_shutdown (pg_terminate_backend, a server stop), 57P02 crash_shutdown, 57P03 cannot_connect_now,
// 57P05 idle_session_timeout. https://www.postgresql.org/docs/15/errcodes-appendix.html
const SESSION_ENDED_CODES = new Set(['57P01', '57P02', '57P03', '57P05']);
// Socket-level failures node reports when the other side closed or reset the connection.
const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ENOTCONN']);
// node-postgres words these without a code (pg/lib/client.js).
const PG_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/** True when `error` says the connection was lost or refused, never for a query error or a query timeout. */
export function isConnectionLost(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code.startsWith('08') && code.length === 5) return true;
    if (SESSION_ENDED_CODES.has(code) || SOCKET_CODES.has(code)) return true;
  }
  return typeof message === 'string' && PG_MESSAGES.includes(message);
}

// node-postgres's words for "no connection within connectionTimeoutMillis" and for its client-side query_timeout.
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'Query read timeout',
];
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when the database cannot serve right now (unreachable, connection lost, timed out): a 503, not a 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (isConnectionLost(error)) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.includes(message);
}

/**
 * Runs `attempt(false)`; if it fails because its connection died and `safeToRepeat` is true, runs
 * `attempt(true)` once more at once, where `true` asks for a newly opened connection: when a server or proxy ends
 * sessions, every idle connection in the pool is usually dead too, and the pool may not have noticed yet. Any
 * other failure, or a second one, is thrown as it is.
 */
export async function repeatOnceIfConnectionLost<T>(
  safeToRepeat: boolean,
  attempt: (freshConnection: boolean) => Promise<T>,
  onRepeat: (error: unknown) => void,
): Promise<T> {
  try {
    return await attempt(false);
  } catch (error) {
    if (!safeToRepeat || !isConnectionLost(error)) throw error;
    onRepeat(error);
    return attempt(true);
  }
}
