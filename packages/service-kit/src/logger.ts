import pino, { type DestinationStream, type Logger } from 'pino';

// Anything that may carry a credential. pino's redaction is path-based, so we list the places a secret
// can appear in our own log objects: request headers, upstream call metadata, and config dumps.
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'appid',
  'apiKey',
  'api_key',
  'token',
  'password',
  '*.appid',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.password',
  '*.OPENWEATHER_API_KEY',
  'OPENWEATHER_API_KEY',
];

// Query parameters that are credentials anywhere in the world; stripped from logged URLs.
const SECRET_QUERY_PARAMS = /([?&](?:appid|api_key|apikey|key|token|access_token|password)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[Redacted]');
}

export type LoggerOptions = { level: string; name?: string; destination?: DestinationStream };

/** JSON logs to stdout (or a given stream, for tests), with secrets redacted. */
export function createLogger({ level, name, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      name,
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

export type { Logger };
