import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { escapeHtml } from './html';

/**
 * An error with an HTTP meaning. `detail` is shown to clients, so it must never contain secrets or internals.
 * `type` is an RFC 9457 problem type slug.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly options: {
      type?: string;
      title?: string;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: options.cause });
  }
}

export type ProblemDetails = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId?: string;
};

/** API clients get problem+json; browsers get a page. A route under /api, or an Accept preferring JSON, is an API call. */
function wantsProblemJson(req: Request): boolean {
  if (req.path.startsWith('/api/') || req.path === '/api') return true;
  return req.accepts(['html', 'json', 'application/problem+json']) !== 'html';
}

function problemFor(
  req: Request,
  status: number,
  detail: string,
  type?: string,
  title?: string,
): ProblemDetails {
  return {
    type: type ? `tag:slipway,2026:problem:${type}` : 'about:blank',
    title: title ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: req.originalUrl.split('?')[0] ?? req.path,
    ...(req.id ? { requestId: String(req.id) } : {}),
  };
}

export type ErrorPageRenderer = (problem: ProblemDetails) => string;

export const defaultErrorPage: ErrorPageRenderer = (p) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${p.status} ${escapeHtml(p.title)}</title></head>` +
  `<body><h1>${escapeHtml(p.title)}</h1><p>${escapeHtml(p.detail)}</p>` +
  (p.requestId ? `<p><small>Request id: ${escapeHtml(p.requestId)}</small></p>` : '') +
  `</body></html>`;

function send(
  req: Request,
  res: Parameters<RequestHandler>[1],
  problem: ProblemDetails,
  renderPage: ErrorPageRenderer,
) {
  res.status(problem.status).set('cache-control', 'no-store');
  if (wantsProblemJson(req)) {
    res.type('application/problem+json').send(JSON.stringify(problem));
  } else {
    res.type('html').send(renderPage(problem));
  }
}

export function notFoundHandler(renderPage: ErrorPageRenderer = defaultErrorPage): RequestHandler {
  return (req, res) => {
    send(req, res, problemFor(req, 404, `No route for ${req.method} ${req.path}`), renderPage);
  };
}

// body-parser and other express middleware signal client errors with `status` and `expose`.
function clientErrorOf(error: unknown): { status: number; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, expose, message } = error as { status?: unknown; expose?: unknown; message?: unknown };
  if (
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    expose === true &&
    typeof message === 'string'
  ) {
    return { status, message };
  }
  return undefined;
}

/**
 * The edge of every service: maps errors to problem+json or an HTML page. Unknown errors are 500 with a
 * generic detail; the stack is logged, and shown to clients only outside production.
 */
export function errorHandler(options: {
  logger: Logger;
  production: boolean;
  renderPage?: ErrorPageRenderer;
}): ErrorRequestHandler {
  const renderPage = options.renderPage ?? defaultErrorPage;
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof HttpError) {
      if (error.options.headers) res.set(error.options.headers);
      const log = error.status >= 500 ? (req.log ?? options.logger) : undefined;
      log?.warn({ err: { type: error.options.type, message: error.message } }, 'request failed');
      send(
        req,
        res,
        problemFor(req, error.status, error.detail, error.options.type, error.options.title),
        renderPage,
      );
      return;
    }
    const clientError = clientErrorOf(error);
    if (clientError) {
      send(req, res, problemFor(req, clientError.status, clientError.message), renderPage);
      return;
    }
    (req.log ?? options.logger).error({ err: error }, 'unhandled error');
    const detail =
      !options.production && error instanceof Error
        ? `${error.message}\n${error.stack ?? ''}`
        : 'Something went wrong on our side.';
    send(req, res, problemFor(req, 500, detail), renderPage);
  };
}
