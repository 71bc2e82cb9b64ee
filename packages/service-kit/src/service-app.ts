import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { errorHandler, notFoundHandler, type ErrorPageRenderer } from './errors';
import { healthRouter, type HealthRegistry } from './health';
import { DEFAULT_MAX_REQUEST_BODY_BYTES, rejectDeclaredOversizedBodies } from './request-body';
import { createRequestLogger } from './request-context';
import { HELMET_OPTIONS } from './security-headers';
import type { VersionInfo } from './version';

export type ServiceAppOptions = {
  logger: Logger;
  health: HealthRegistry;
  version: VersionInfo;
  /** Show unknown errors' stack traces to clients: only when explicitly asked for (EXPOSE_STACK_TRACES). */
  exposeStackTraces?: boolean;
  /** Requests declaring a larger body get 413 at once (default 100 KiB); routes may set lower limits. */
  maxRequestBodyBytes?: number;
  /** Mounts the service's own routes, after the chassis middleware and before the 404/error handlers. */
  routes: (app: Express) => void;
  renderErrorPage?: ErrorPageRenderer;
  /**
   * The service's own secret names (e.g. `['OPENWEATHER_API_KEY']`), censored in logged request URLs besides
   * the built-in generic ones. Pass the same list to `createLogger` for log objects.
   */
  secretKeys?: readonly string[];
};

/**
 * The chassis every service gets: security headers, request ids and logs, health and version endpoints,
 * and problem+json/HTML error mapping at the edge. It returns an app without listening, so tests use supertest.
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags on dynamic JSON cost a hash per response and make caches revalidate data that changes anyway.
  app.set('etag', false);
  app.set('trust proxy', false);

  // Probes come first: orchestrators call them every few seconds, they answer JSON only (no page for a CSP or
  // frame policy to protect), and they are not request-logged, so helmet's headers and a per-request logger
  // would be pure cost on the hottest route. The probe answers carry their own nosniff and no-store.
  // `startServer` answers the same probes before Express; this router answers them when Express is the server
  // (supertest, `app.listen`) and for spellings the server leaves to Express (an absolute-form target).
  app.use(healthRouter(options.health));

  app.use(securityHeaders());
  app.use(createRequestLogger(options.logger, { secretKeys: options.secretKeys }));
  app.use(rejectDeclaredOversizedBodies(options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES));

  const versionBody = JSON.stringify(options.version);
  app.get('/version', (_req, res) => {
    res.type('application/json').set('cache-control', 'no-store').send(versionBody);
  });

  options.routes(app);

  app.use(notFoundHandler(options.renderErrorPage));
  app.use(
    errorHandler({
      logger: options.logger,
      exposeStackTraces: options.exposeStackTraces,
      renderPage: options.renderErrorPage,
    }),
  );
  return app;
}

/**
 * helmet's default headers, recorded once at start-up by running helmet against a stand-in response. Its
 * defaults do not depend on the request (no CSP nonces or functions), so every response gets the identical
 * headers, with helmet's own name casing; setting them from a list skips helmet's chain of twelve
 * middlewares per request (about 3 µs of its 6 µs). helmet also removes X-Powered-By, which
 * `app.disable('x-powered-by')` already keeps off.
 */
function securityHeaders(): RequestHandler {
  const headers: Array<readonly [string, string]> = [];
  const recorder = {
    setHeader(name: string, value: string) {
      headers.push([name, value]);
    },
    removeHeader() {},
  };
  let failure: unknown;
  const secure = helmet(HELMET_OPTIONS);
  secure(new IncomingMessage(new Socket()), recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined || headers.length === 0) {
    throw new Error(`helmet did not produce its default headers: ${String(failure)}`);
  }
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
