import { Writable } from 'node:stream';
import { createLogger, HealthRegistry, type Logger } from '../src';

/** A real pino logger writing JSON lines into memory, so tests can assert on what would reach stdout. */
export function capturedLogger(
  level = 'info',
  secretKeys?: readonly string[],
): {
  logger: Logger;
  lines: () => string[];
  records: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level, destination, secretKeys });
  const lines = () => chunks.join('').split('\n').filter(Boolean);
  return { logger, lines, records: () => lines().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

export function testHealth(): HealthRegistry {
  return new HealthRegistry({ version: '1.2.3', releaseId: 'a'.repeat(40) });
}
