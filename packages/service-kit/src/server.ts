import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { flushLogs } from './flush-logs';
import { ConfigError } from './config';
import { answerHealthProbe, type HealthRegistry } from './health';

// Above the idle timeouts of common load balancers (AWS ALB 60 s, GCP 600 s is configurable), so the balancer,
// not us, closes idle connections; otherwise it may send a request on a socket we are closing.
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Must exceed keepAliveTimeout, or Node may time out a request that arrives on a reused connection.
export const HEADERS_TIMEOUT_MS = 66_000;

export type ServerOptions = {
  port: number;
  host: string;
  logger: Logger;
  health: HealthRegistry;
  shutdownTimeoutMs: number;
  drainDelayMs: number;
  /** Defaults to process.exit; tests pass their own. */
  exit?: (code: number) => void;
  /** Defaults to SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
};

export type RunningServer = {
  server: Server;
  url: string;
  /** Runs the graceful shutdown sequence; resolves with the exit code it chose. */
  shutdown: (reason: string) => Promise<number>;
};

/**
 * A listen failure that a setting caused, as a ConfigError naming HOST or PORT (Node's own message names
 * only the value: `getaddrinfo ENOTFOUND db`); any other failure as it was.
 */
function listenError(error: Error, { host, port }: { host: string; port: number }): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const because = code ? ` (${code})` : '';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ConfigError(
        `Invalid configuration: HOST "${host}" does not resolve to an address${because}; it must be an IP address or a host name of this machine`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `Invalid configuration: HOST "${host}" is not an address of this machine${because}; use 0.0.0.0 to listen on all`,
      );
    case 'EADDRINUSE':
      return new ConfigError(`Invalid configuration: PORT ${port} is already in use on ${host}${because}`);
    case 'EACCES':
      return new ConfigError(
        `Invalid configuration: PORT ${port} needs privileges this process does not have${because}; use a port above 1023`,
      );
    default:
      return error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Listens, and shuts down gracefully on SIGTERM/SIGINT. Health probes (`GET`/`HEAD` of `/health`,
 * `/health/live`, `/health/ready`) are answered here from `options.health`, before `handler` (the Express
 * app) sees them: orchestrators call them every few seconds, and Express's per-request set-up and routing
 * cost more than the probe's own work. The app's `healthRouter` gives the same answers to requests that come
 * in through Express alone (supertest, another server).
 */
export async function startServer(handler: RequestListener, options: ServerOptions): Promise<RunningServer> {
  const { logger, health } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));

  // Responses written during shutdown say `Connection: close`, including those already in flight when the
  // signal came, so keep-alive clients reconnect elsewhere instead of reusing a socket we are about to close.
  const inFlight = new Set<ServerResponse>();
  function settled(this: ServerResponse) {
    inFlight.delete(this);
  }
  // One listener, not a second 'request' listener beside the handler: Node's EventEmitter copies the
  // listener array on every emit when there are several.
  const server = createServer(
    { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS },
    (req, res) => {
      if (health.isShuttingDown) res.shouldKeepAlive = false;
      inFlight.add(res);
      res.once('close', settled);
      if (!answerHealthProbe(health, req, res)) handler(req, res);
    },
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error) => reject(listenError(error, options));
    server.once('error', refused);
    server.listen(options.port, options.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, port: address.port }, 'listening');

  let shutdownPromise: Promise<number> | undefined;

  async function drainAndClose(reason: string): Promise<number> {
    logger.info({ reason }, 'shutdown: readiness is now 503');
    // 1. Readiness fails, so balancers stop sending new work; responses carry `Connection: close` from now on.
    health.markShuttingDown();
    for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    if (options.drainDelayMs > 0) await sleep(options.drainDelayMs);

    // 2. Stop accepting connections. 3. In-flight requests finish on their own sockets.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // 4. Idle keep-alive sockets would otherwise hold the server open until keepAliveTimeout.
    server.closeIdleConnections();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    await closed;
    clearInterval(idleSweep);
    logger.info('shutdown: all connections closed');
    return 0;
  }

  function shutdown(reason: string): Promise<number> {
    shutdownPromise ??= (async () => {
      let deadlineTimer: NodeJS.Timeout | undefined;
      const deadline = new Promise<number>((resolve) => {
        deadlineTimer = setTimeout(() => {
          logger.error({ timeoutMs: options.shutdownTimeoutMs }, 'shutdown: deadline passed, forcing exit');
          server.closeAllConnections();
          resolve(1);
        }, options.shutdownTimeoutMs);
      });
      const code = await Promise.race([drainAndClose(reason), deadline]);
      clearTimeout(deadlineTimer);
      await flushLogs(logger);
      exit(code);
      return code;
    })();
    return shutdownPromise;
  }

  for (const signal of options.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])) {
    process.once(signal, () => void shutdown(signal));
  }

  return { server, url, shutdown };
}
