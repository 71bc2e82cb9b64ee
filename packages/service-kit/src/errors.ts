import { STATUS_CODES, type ServerResponse } from 'node:http';
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

// Express routes case-insensitively (`/API/weather` reaches the `/api/weather` route), so every path check
// of the chassis is case-insensitive too.
const API_PATH = /^\/api(?:\/|$)/i;

/** API clients get problem+json; browsers get a page. A route under /api, or an Accept preferring JSON, is an API call. */
function wantsProblemJson(req: Request): boolean {
  if (API_PATH.test(req.path)) return true;
  return req.accepts(['html', 'json', 'application/problem+json']) !== 'html';
}

/**
 * What the request log line says about a failure the error handler mapped: the problem type, the status and
 * the cause (`HTTP 500`, `ECONNRESET ...`). One warn line per expected failure, with no stack.
 */
export type HandledProblem = { type: string; status: number; cause?: string };
const handledProblems = new WeakMap<ServerResponse, HandledProblem>();

/** The failure the error handler mapped for this response, if any (read by the request logger). */
export function handledProblemOf(res: ServerResponse): HandledProblem | undefined {
  return handledProblems.get(res);
}

function causeText(cause: unknown): string | undefined {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return undefined;
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

// The problem types of client errors, one per kind, whoever detects them (the chassis, Express's router,
// body-parser or a service's own route): docs/services.md lists them.
const CLIENT_PROBLEM_TYPES: Readonly<Record<number, { type: string; title: string }>> = {
  400: { type: 'invalid-request', title: 'Bad Request' },
  411: { type: 'length-required', title: 'Length Required' },
  413: { type: 'body-too-large', title: 'Content Too Large' },
  415: { type: 'unsupported-media-type', title: 'Unsupported Media Type' },
};

/**
 * A 4xx signalled by Express's router (a URIError with status 400 for a malformed %-encoding in a path
 * parameter), body-parser (`type` such as `entity.parse.failed`, `entity.too.large`) or any http-errors style
 * middleware (`status` or `statusCode` 400..499), as the HttpError the chassis answers for that kind, or
 * undefined for anything else. `expose` is not required: the router's decode error has none, yet it is the
 * client's fault. The detail is ours, never the library's message, which may quote the body (JSON.parse's does);
 * the cause logged is the library's error type, not its message.
 */
function clientErrorOf(error: unknown): HttpError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, expose, message, type, limit } = error as Record<string, unknown>;
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 499) return undefined;
  const kind = CLIENT_PROBLEM_TYPES[code];
  const options = (cause: string) => ({ ...(kind ?? {}), cause });
  if (error instanceof URIError) {
    return new HttpError(
      400,
      'The request path has a malformed %-encoding.',
      options('malformed %-encoding'),
    );
  }
  switch (type) {
    case 'entity.parse.failed':
      return new HttpError(
        400,
        'The request body is malformed: it does not parse as its Content-Type.',
        options(type),
      );
    case 'entity.too.large':
      return new HttpError(
        413,
        typeof limit === 'number'
          ? `The request body may have at most ${limit} bytes.`
          : 'The request body is too large.',
        options(type),
      );
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(
        415,
        "The request body's Content-Encoding or charset is not supported.",
        options(type),
      );
    case 'request.size.invalid':
      return new HttpError(400, 'The request body does not match its Content-Length.', options(type));
    default:
      return new HttpError(
        code,
        expose === true && typeof message === 'string' ? message : (STATUS_CODES[code] ?? 'Client error'),
        options(typeof type === 'string' ? type : `HTTP ${code}`),
      );
  }
}

export type ErrorHandlerOptions = {
  logger: Logger;
  /** Show an unknown error's message and stack to clients. Off unless asked for (EXPOSE_STACK_TRACES). */
  exposeStackTraces?: boolean;
  renderPage?: ErrorPageRenderer;
};

/**
 * The edge of every service: maps errors to problem+json or an HTML page.
 * - An HttpError is an expected failure: its status, type and cause go into the request's one log line
 *   (pino-http's, at warn), with no stack. So is a 4xx from Express's router or body-parser, answered as the
 *   same kind of problem the chassis uses (see clientErrorOf).
 * - Anything else is a 500 with a generic detail, logged once at error level with its stack; the stack
 *   reaches clients only when `exposeStackTraces` is set.
 * Without a request logger (`req.log`), the handler writes the line itself.
 */
export function errorHandler(options: ErrorHandlerOptions): ErrorRequestHandler {
  const renderPage = options.renderPage ?? defaultErrorPage;
  return (thrown: unknown, req, res, next) => {
    if (res.headersSent) {
      next(thrown);
      return;
    }
    const error = thrown instanceof HttpError ? thrown : (clientErrorOf(thrown) ?? thrown);
    if (error instanceof HttpError) {
      if (error.options.headers) res.set(error.options.headers);
      const problem: HandledProblem = {
        type: error.options.type ?? 'about:blank',
        status: error.status,
        ...(causeText(error.options.cause) ? { cause: causeText(error.options.cause) } : {}),
      };
      handledProblems.set(res, problem);
      if (!req.log && error.status >= 500) options.logger.warn({ problem }, 'request failed');
      send(
        req,
        res,
        problemFor(req, error.status, error.detail, error.options.type, error.options.title),
        renderPage,
      );
      return;
    }
    // pino-http's completion line carries `res.err` with its stack: one line per failed request.
    if (req.log) res.err = error instanceof Error ? error : new Error(String(error));
    else options.logger.error({ err: error }, 'unhandled error');
    const detail =
      options.exposeStackTraces === true && error instanceof Error
        ? `${error.message}\n${error.stack ?? ''}`
        : 'Something went wrong on our side.';
    send(req, res, problemFor(req, 500, detail), renderPage);
  };
}
