import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { handledProblemOf } from './errors';
import { createUrlRedactor, redactUrl } from './logger';

const HEALTH_PATH = /^\/health(?:[/?]|$)/i;

// A caller's id is echoed into our logs and headers, so only accept a short, inert token.
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const candidate = Array.isArray(header) ? header[0] : header;
  return candidate && ACCEPTABLE_REQUEST_ID.test(candidate) ? candidate : randomUUID();
}

type LoggableRequest = IncomingMessage & { originalUrl?: string };

/** The `req` object of every request log line: only these three fields, with secret query values redacted. */
export function loggedRequest(req: LoggableRequest, redact: (url: string) => string = redactUrl) {
  return { id: req.id, method: req.method, url: redact(req.originalUrl ?? req.url ?? '') };
}

export type RequestLoggerOptions = {
  /** The service's own secret names, censored in logged query strings besides the built-in ones. */
  secretKeys?: readonly string[];
};

/**
 * pino-http: every request gets an id (taken from `x-request-id` or generated, echoed back) and `req.log`,
 * a child logger bound to the request, and one line is written when the response finishes.
 * Health probes are answered before this middleware, so they cost no logger at all.
 */
export function createRequestLogger(logger: Logger, options: RequestLoggerOptions = {}): HttpLogger {
  const redact = createUrlRedactor(options.secretKeys);
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const id = requestIdFrom(req.headers['x-request-id']);
      res.setHeader('x-request-id', id);
      return id;
    },
    // A failure the error handler mapped (an HttpError, such as an upstream 502) is expected: one warn line
    // naming its problem type, status and cause, without pino-http's stand-in error and its stack.
    customLogLevel(_req, res, error) {
      if (handledProblemOf(res)) return 'warn';
      if (error || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    customErrorMessage: (_req, res) => (handledProblemOf(res) ? 'request failed' : 'request errored'),
    customErrorObject(_req, res, _error, value: Record<string, unknown>) {
      const problem = handledProblemOf(res);
      if (!problem) return value;
      const { err: _omitted, ...rest } = value;
      return { ...rest, problem };
    },
    customSuccessObject(_req, res, value: Record<string, unknown>) {
      const problem = handledProblemOf(res);
      return problem ? { ...value, problem } : value;
    },
    // Services may mount more probes under /health (any case: Express routes case-insensitively);
    // logging them drowns the useful lines.
    autoLogging: { ignore: (req) => HEALTH_PATH.test(req.url ?? '') },
    // pino-http's wrapped serializers first build pino's full request object (all headers, the remote
    // address, Express's query getter) only for ours to pick three fields from it.
    wrapSerializers: false,
    serializers: {
      req: (req: LoggableRequest) => loggedRequest(req, redact),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
}
