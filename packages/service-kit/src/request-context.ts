import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { redactUrl } from './logger';

// A caller's id is echoed into our logs and headers, so only accept a short, inert token.
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const candidate = Array.isArray(header) ? header[0] : header;
  return candidate && ACCEPTABLE_REQUEST_ID.test(candidate) ? candidate : randomUUID();
}

/** The `req` object of every request log line: only these three fields, with secret query values redacted. */
export function loggedRequest(req: IncomingMessage & { originalUrl?: string }) {
  return { id: req.id, method: req.method, url: redactUrl(req.originalUrl ?? req.url ?? '') };
}

/**
 * pino-http: every request gets an id (taken from `x-request-id` or generated, echoed back) and `req.log`,
 * a child logger bound to the request, and one line is written when the response finishes.
 * Health probes are answered before this middleware, so they cost no logger at all.
 */
export function createRequestLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const id = requestIdFrom(req.headers['x-request-id']);
      res.setHeader('x-request-id', id);
      return id;
    },
    customLogLevel(_req, res, error) {
      if (error || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    // Services may mount more probes under /health; logging them drowns the useful lines.
    autoLogging: { ignore: (req) => req.url?.startsWith('/health') === true },
    // pino-http's wrapped serializers first build pino's full request object (all headers, the remote
    // address, Express's query getter) only for ours to pick three fields from it.
    wrapSerializers: false,
    serializers: {
      req: loggedRequest,
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
}
