import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { errorHandler, notFoundHandler, type ErrorPageRenderer } from './errors';
import { healthRouter, type HealthRegistry } from './health';
import { createRequestLogger } from './request-context';
import type { VersionInfo } from './version';

export type ServiceAppOptions = {
  logger: Logger;
  health: HealthRegistry;
  version: VersionInfo;
  production: boolean;
  /** Mounts the service's own routes, after the chassis middleware and before the 404/error handlers. */
  routes: (app: Express) => void;
  renderErrorPage?: ErrorPageRenderer;
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
  // would be pure cost on the hottest route. The health router sets its own nosniff and no-store.
  app.use(healthRouter(options.health));

  app.use(helmet());
  app.use(createRequestLogger(options.logger));

  const versionBody = JSON.stringify(options.version);
  app.get('/version', (_req, res) => {
    res.type('application/json').set('cache-control', 'no-store').send(versionBody);
  });

  options.routes(app);

  app.use(notFoundHandler(options.renderErrorPage));
  app.use(
    errorHandler({
      logger: options.logger,
      production: options.production,
      renderPage: options.renderErrorPage,
    }),
  );
  return app;
}
