import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { redactUrl } from './logger';

declare module 'http' {
  interface IncomingMessage {
    /** The request id: the caller's `x-request-id` when it is sane, otherwise a fresh UUID. */
    id: string;
  }
}

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

/** A logger whose lines carry the request, for the rare lines written while handling one (errors). */
export function requestLogger(logger: Logger, req: IncomingMessage): Logger {
  return logger.child({ req: loggedRequest(req) });
}

function levelFor(res: ServerResponse, error: Error | undefined): 'error' | 'warn' | 'info' {
  if (error || res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'warn';
  return 'info';
}

/**
 * Gives every request an id (taken from `x-request-id` or generated, echoed back) and writes one log line
 * when the response finishes: the same line pino-http wrote, `{ req: { id, method, url }, res: { statusCode },
 * responseTime }` with "request completed", "request aborted" or "request errored". It replaces pino-http,
 * which built a child logger for every request (serializing and redacting the request up front) even when
 * nothing but the final line was ever written with it.
 */
export function createRequestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', id);
    req.id = id;
    // Probes hit these every few seconds; logging them drowns the useful lines.
    if (!req.url.startsWith('/health')) {
      const startedAt = Date.now();
      const request = loggedRequest(req);
      const onResponseDone = (error?: Error) => {
        res.removeListener('close', onResponseDone);
        res.removeListener('finish', onResponseDone);
        res.removeListener('error', onResponseDone);
        logResponse(logger, request, res, startedAt, error, req.readableAborted);
      };
      res.on('close', onResponseDone);
      res.on('finish', onResponseDone);
      res.on('error', onResponseDone);
    }
    next();
  };
}

function logResponse(
  logger: Logger,
  request: ReturnType<typeof loggedRequest>,
  res: ServerResponse,
  startedAt: number,
  error: Error | undefined,
  aborted: boolean,
): void {
  const responseTime = Date.now() - startedAt;
  const level = levelFor(res, error);
  const response = { statusCode: res.statusCode };
  if (error || res.statusCode >= 500) {
    const err = error ?? new Error(`failed with status code ${res.statusCode}`);
    logger[level]({ req: request, res: response, err, responseTime }, 'request errored');
    return;
  }
  logger[level](
    { req: request, res: response, responseTime },
    !aborted && res.writableEnded ? 'request completed' : 'request aborted',
  );
}
