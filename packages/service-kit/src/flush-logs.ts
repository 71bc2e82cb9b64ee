import type { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';

/**
 * Waits until pino's destination has written every line, for at most `boundMs`, so a stuck stdout never holds
 * the exit. pino's stdout (sonic-boom) writes asynchronously, and process.exit runs its synchronous flush: with
 * a write still in flight, the lines queued behind it reach the file first ("all connections closed" before
 * "readiness is now 503"). sonic-boom calls flush's callback at once when its minLength is 0 (pino's default),
 * even mid-write, so its `drain` event is what says the write is done.
 */
export function flushLogs(logger: Logger, boundMs = 500): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    (Partial<EventEmitter> & { _writing?: boolean }) | undefined;
  const flushed = new Promise<void>((resolve) => logger.flush(() => resolve()));
  const drained = new Promise<void>((resolve) => {
    if (stream?._writing === true && typeof stream.once === 'function') stream.once('drain', () => resolve());
    else resolve();
  });
  let bound: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    bound = setTimeout(resolve, boundMs);
    bound.unref();
  });
  return Promise.race([Promise.all([flushed, drained]).then(() => undefined), timedOut]).finally(() =>
    clearTimeout(bound),
  );
}
