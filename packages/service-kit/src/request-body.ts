import type { RequestHandler } from 'express';
import { HttpError } from './errors';

/** The chassis-wide bound on a request body: body-parser's own default limit. */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024;

/**
 * Answers 413 at once to a request whose Content-Length is over `limitBytes`, and closes the connection.
 * body-parser checks the same limit but reads the whole declared body off the socket before it answers, so
 * a client could hold a connection open by announcing 10 MB; here nothing of the body is read, and
 * `Connection: close` lets Node drop the socket instead of draining it for the next request. Mount it
 * (with the route's own limit) before any body parser; the chassis mounts it for every route.
 *
 * A chunked body has no declared length, and body-parser would again read all of it before its 413.
 * `requireLength: true` answers such a request 411 Length Required at once (RFC 9110 §15.5.12), for routes
 * whose clients always know the length, as a browser posting a form does.
 */
export function rejectDeclaredOversizedBodies(
  limitBytes: number,
  { requireLength = false }: { requireLength?: boolean } = {},
): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared === undefined) {
      if (requireLength && req.headers['transfer-encoding'] !== undefined) {
        res.setHeader('connection', 'close');
        next(
          new HttpError(411, 'Send the request body with a Content-Length.', {
            type: 'length-required',
            title: 'Length Required',
          }),
        );
        return;
      }
      next();
      return;
    }
    if (!(Number(declared) > limitBytes)) {
      next();
      return;
    }
    res.setHeader('connection', 'close');
    next(
      new HttpError(413, `The request body may have at most ${limitBytes} bytes.`, {
        type: 'body-too-large',
        title: 'Content Too Large',
      }),
    );
  };
}
