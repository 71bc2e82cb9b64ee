import { Agent, interceptors, type Dispatcher, type RetryHandler } from 'undici';

/**
 * Keep-alive and retry policy for calls to an HTTP upstream, built from undici's own parts.
 *
 * Why: servers and load balancers close idle keep-alive connections after their own timeout, often without
 * saying so in a `Keep-Alive: timeout=` header. A request written to a pooled socket at the moment the other
 * side closes it fails with "other side closed" / ECONNRESET before any answer. So:
 *
 * - Idle sockets are kept for IDLE_KEEP_ALIVE_MS only: below the 5 s of Node's own HTTP server and Apache,
 *   the shortest common defaults. When the upstream advertises `Keep-Alive: timeout=N`, undici keeps the
 *   socket for N s minus 2 s instead, capped at MAX_KEEP_ALIVE_MS.
 * - A GET or HEAD whose connection is closed or reset before any response byte arrived is retried once, at
 *   once, on a new connection (undici's retry interceptor, with the policy below deciding).
 * - Never retried: anything after response headers arrived (a reset mid-body is a 502, not a second call),
 *   a timeout or any other abort, a refused connection or DNS failure, any HTTP status (a 5xx or 429 is the
 *   upstream's answer), and every method other than GET and HEAD.
 *
 * undici does not say whether the socket that failed had been used before. A new connection that the
 * upstream resets before answering is retried too; for a GET that is equally safe.
 */
export const IDLE_KEEP_ALIVE_MS = 4_000;
export const MAX_KEEP_ALIVE_MS = 60_000;
/** Connection-level failures that mean "the request never got an answer", and so may be sent again. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const RETRYABLE_METHODS = ['GET', 'HEAD'];

/**
 * Passed as a request's `opaque`: the dispatcher records in it whether response headers arrived and how
 * many times the request was sent, which the retry policy reads and tests assert on.
 */
export class UpstreamAttempts {
  responseStarted = false;
  sent = 0;
}

// `opaque` and `signal` are options of undici's request(); they travel with the dispatch options, which
// undici's types do not declare.
type RequestLevelOptions = { opaque?: unknown; signal?: { aborted?: boolean } | null };

function attemptsOf(opts: object): UpstreamAttempts | undefined {
  const { opaque } = opts as RequestLevelOptions;
  return opaque instanceof UpstreamAttempts ? opaque : undefined;
}

/** The outermost interceptor: marks the request's UpstreamAttempts once a response (any status) started. */
const recordResponseStart: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const attempts = attemptsOf(opts);
  if (!attempts) return dispatch(opts, handler);
  return dispatch(opts, {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, statusCode, headers, socket) =>
      handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
    onResponseStart(controller, statusCode, headers, statusMessage) {
      if (statusCode >= 200) attempts.responseStarted = true;
      handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
    },
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
  });
};

/**
 * The innermost interceptor: the retry handler dispatches every attempt with itself as the handler, so a
 * handler seen before is a retry, and goes to a dispatcher whose connections serve one request each; the
 * retry can therefore never land on another pooled socket that has gone stale at the same time.
 */
function freshConnectionForRetries(retryDispatcher: Dispatcher): Dispatcher.DispatcherComposeInterceptor {
  const seen = new WeakSet<object>();
  return (dispatch) => (opts, handler) => {
    const attempts = attemptsOf(opts);
    if (attempts) attempts.sent += 1;
    if (!seen.has(handler)) {
      seen.add(handler);
      return dispatch(opts, handler);
    }
    return retryDispatcher.dispatch({ ...opts, reset: true }, handler);
  };
}

const retryOnceBeforeResponse: RetryHandler.RetryCallback = (error, { state, opts }, callback) => {
  const code = (error as { code?: string }).code;
  const eligible =
    state.counter <= 1 &&
    RETRYABLE_METHODS.includes(String(opts.method)) &&
    code !== undefined &&
    RETRYABLE_CODES.has(code) &&
    (opts as RequestLevelOptions).signal?.aborted !== true &&
    attemptsOf(opts)?.responseStarted === false;
  callback(eligible ? null : error);
};

export type UpstreamDispatcher = { dispatcher: Dispatcher; close: () => Promise<void> };

/**
 * A pooled dispatcher for one upstream with the policy above. `maxResponseBytes` stops reading any response
 * body past that many bytes (undici's `maxResponseSize`), whatever its Content-Length says.
 */
export function createUpstreamDispatcher({
  connections,
  maxResponseBytes,
}: {
  connections: number;
  maxResponseBytes: number;
}): UpstreamDispatcher {
  const pool = new Agent({
    connections,
    keepAliveTimeout: IDLE_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: MAX_KEEP_ALIVE_MS,
    maxResponseSize: maxResponseBytes,
  });
  const retries = new Agent({ connections, maxResponseSize: maxResponseBytes });
  const dispatcher = pool.compose(
    freshConnectionForRetries(retries),
    interceptors.retry({
      maxRetries: 1,
      methods: RETRYABLE_METHODS as Dispatcher.HttpMethod[],
      // Statuses are the upstream's answer; mapping them is the client's job, not a reason to call again.
      statusCodes: [],
      retry: retryOnceBeforeResponse,
    }),
    recordResponseStart,
  );
  return {
    dispatcher,
    close: async () => {
      await Promise.all([pool.close(), retries.close()]);
    },
  };
}
