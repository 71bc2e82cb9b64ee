import pino, { type DestinationStream, type Logger } from 'pino';

// Anything that may carry a credential, in the places our own log objects carry it: a secret-named key at the
// top of a logged object or one level down (`{ appid }`, `{ upstream: { apiKey } }`, `{ config: { OPENWEATHER_API_KEY } }`),
// and the credential headers of a logged request or response.
const SECRET_KEYS = new Set(['appid', 'apiKey', 'api_key', 'token', 'password', 'OPENWEATHER_API_KEY']);
const SECRET_HEADERS: Record<string, readonly string[]> = {
  req: ['authorization', 'cookie', 'x-api-key'],
  res: ['set-cookie'],
};
const CENSOR = '[Redacted]';

type LogObject = Record<string, unknown>;

function isObject(value: unknown): value is LogObject {
  return typeof value === 'object' && value !== null;
}

/** A copy of `nested` with its secret-named keys (and, under `req`/`res`, credential headers) censored; `nested` itself when it has none. */
function redactNested(topKey: string, nested: LogObject): LogObject {
  let copy: LogObject | undefined;
  for (const key of SECRET_KEYS) {
    if (key in nested) {
      copy ??= { ...nested };
      copy[key] = CENSOR;
    }
  }
  const headerNames = SECRET_HEADERS[topKey];
  const headers = headerNames && nested.headers;
  if (headerNames && isObject(headers)) {
    let headersCopy: LogObject | undefined;
    for (const name of headerNames) {
      if (name in headers) {
        headersCopy ??= { ...headers };
        headersCopy[name] = CENSOR;
      }
    }
    if (headersCopy) {
      copy ??= { ...nested };
      copy.headers = headersCopy;
    }
  }
  return copy ?? nested;
}

/**
 * Censors credentials in a log object without touching the caller's object: only the branches that hold a
 * secret are copied, so the common line (nothing to censor) costs a few key lookups. The same coverage as
 * pino's path redaction of the list above, which cost about 12 µs per line (it re-parses every path and clones
 * every top-level value of every line); this costs well under 1 µs. `skipKey` leaves the error for the error
 * serializer, whose output is redacted in turn.
 */
export function redactSecrets(object: LogObject, skipKey?: string): LogObject {
  let copy: LogObject | undefined;
  for (const key in object) {
    if (!Object.hasOwn(object, key) || key === skipKey) continue;
    const value = object[key];
    if (value === undefined) continue;
    if (SECRET_KEYS.has(key)) {
      copy ??= { ...object };
      copy[key] = CENSOR;
    } else if (isObject(value) && !Array.isArray(value)) {
      const redacted = redactNested(key, value);
      if (redacted !== value) {
        copy ??= { ...object };
        copy[key] = redacted;
      }
    }
  }
  return copy ?? object;
}

// Query parameters that are credentials anywhere in the world; stripped from logged URLs.
const SECRET_QUERY_PARAMS = /([?&](?:appid|api_key|apikey|key|token|access_token|password)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY_PARAMS, '$1[Redacted]');
}

function redactErrorFields(serialized: unknown): unknown {
  return isObject(serialized) ? redactNested('err', serialized) : serialized;
}

export type LoggerOptions = { level: string; name?: string; destination?: DestinationStream };

/** JSON logs to stdout (or a given stream, for tests), with secrets redacted. */
export function createLogger({ level, name, destination }: LoggerOptions): Logger {
  const logger = pino(
    {
      level,
      name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Redaction at every way into a line: the logged object, the serialized error, objects interpolated
      // into a message (`log.info('%o', obj)`) and child bindings (below).
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object, 'err'),
      },
      serializers: { err: (error: Error) => redactErrorFields(pino.stdSerializers.err(error)) },
      hooks: {
        logMethod(args, method) {
          for (let i = 1; i < args.length; i++) {
            const arg: unknown = args[i];
            if (isObject(arg) && !Array.isArray(arg)) args[i] = redactSecrets(arg);
          }
          method.apply(this, args);
        },
      },
    },
    destination,
  );
  // pino applies a bindings formatter to the root logger only, so children get theirs redacted here;
  // children inherit this method from their parent, grandchildren included. A bound `err` goes through the
  // redacting error serializer like a logged one (copying an Error here would lose its message and stack).
  const createChild = logger.child;
  logger.child = function childWithRedactedBindings(this: Logger, bindings, options) {
    return createChild.call(this, redactSecrets(bindings, 'err'), options);
  } as Logger['child'];
  return logger;
}

export type { Logger };
