import pino, { type DestinationStream, type Logger } from 'pino';
import { isoNow } from './iso-time';

// Anything that may carry a credential, in the places our own log objects carry it: a secret-named key at the
// top of a logged object or one level down (`{ appid }`, `{ upstream: { apiKey } }`, `{ config: { SOME_API_KEY } }`),
// and the credential headers of a logged request or response. Names are compared case-insensitively. The
// chassis knows only generic names; a service adds its own (`OPENWEATHER_API_KEY`) through `secretKeys`, so
// service-kit never names an app's variables.
const BUILT_IN_SECRET_KEYS: readonly string[] = [
  'appid',
  'apikey',
  'api_key',
  'api-key',
  'token',
  'access_token',
  'refresh_token',
  'password',
  'secret',
  'client_secret',
];
const SECRET_HEADERS: Record<string, readonly string[]> = {
  req: ['authorization', 'cookie', 'x-api-key'],
  res: ['set-cookie'],
};
const CENSOR = '[Redacted]';

type LogObject = Record<string, unknown>;

function isObject(value: unknown): value is LogObject {
  return typeof value === 'object' && value !== null;
}

/** The lower-cased set of secret names: the built-in ones plus a service's own. */
function secretKeySet(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...BUILT_IN_SECRET_KEYS, ...extra].map((key) => key.toLowerCase()));
}

/** A copy of `nested` with its secret-named keys (and, under `req`/`res`, credential headers) censored; `nested` itself when it has none. */
function redactNested(topKey: string, nested: LogObject, secretKeys: ReadonlySet<string>): LogObject {
  let copy: LogObject | undefined;
  // Own keys only, as `for...in` with an own-property filter, but without walking the prototype chain: a
  // request logger binds the IncomingMessage and logs the ServerResponse, whose Express prototypes carry dozens
  // of enumerable methods, and `for...in` over them cost about 20 µs per request line.
  for (const key of Object.keys(nested)) {
    if (secretKeys.has(key.toLowerCase())) {
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
export function redactSecrets(
  object: LogObject,
  secretKeys: ReadonlySet<string>,
  skipKey?: string,
): LogObject {
  let copy: LogObject | undefined;
  for (const key of Object.keys(object)) {
    if (key === skipKey) continue;
    const value = object[key];
    if (value === undefined) continue;
    if (secretKeys.has(key.toLowerCase())) {
      copy ??= { ...object };
      copy[key] = CENSOR;
    } else if (isObject(value) && !Array.isArray(value)) {
      const redacted = redactNested(key, value, secretKeys);
      if (redacted !== value) {
        copy ??= { ...object };
        copy[key] = redacted;
      }
    }
  }
  return copy ?? object;
}

// Query parameters that are credentials anywhere in the world; their values are censored in logged URLs.
// `key` is here but not among the object keys above: in a URL it is almost always an API key, in a log
// object it is usually a cache or map key.
const BUILT_IN_SECRET_QUERY_NAMES: readonly string[] = [
  ...BUILT_IN_SECRET_KEYS,
  'key',
  'x-api-key',
  'id_token',
  'passwd',
  'signature',
  'sig',
];
const DEFAULT_SECRET_QUERY_NAMES = new Set(BUILT_IN_SECRET_QUERY_NAMES);
const QUERY_PARAMETER = /([?&;])([^=&#;]*)=([^&#;]*)/g;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * Builds a URL redactor: `url` with the value of every secret-named query parameter replaced by
 * `[Redacted]`. Names match case-insensitively and after percent-decoding (`API%2DKey=` is `api-key`), so a
 * client cannot smuggle a credential into the logs by spelling its name differently. `secretKeys` adds a
 * service's own names to the built-in ones.
 */
export function createUrlRedactor(secretKeys: readonly string[] = []): (url: string) => string {
  const names =
    secretKeys.length === 0
      ? DEFAULT_SECRET_QUERY_NAMES
      : new Set([...BUILT_IN_SECRET_QUERY_NAMES, ...secretKeys.map((key) => key.toLowerCase())]);
  return (url) => {
    // Most logged URLs have no query string: no regex, no copy.
    if (!url.includes('?')) return url;
    return url.replace(QUERY_PARAMETER, (whole, separator: string, name: string) =>
      names.has(decodedName(name)) ? `${separator}${name}=${CENSOR}` : whole,
    );
  };
}

/** `url` with the values of the built-in secret query parameters censored (see `createUrlRedactor`). */
export const redactUrl: (url: string) => string = createUrlRedactor();

export type LoggerOptions = {
  level: string;
  name?: string;
  destination?: DestinationStream;
  /**
   * Names of the service's own secrets (environment variables or fields, e.g. `['OPENWEATHER_API_KEY']`)
   * whose values are censored wherever a log object carries them, in addition to the built-in generic names
   * (password, token, apiKey, appid, ...). Case-insensitive.
   */
  secretKeys?: readonly string[];
};

/** JSON logs to stdout (or a given stream, for tests), with secrets redacted. */
export function createLogger({ level, name, destination, secretKeys: extraKeys }: LoggerOptions): Logger {
  const secretKeys = secretKeySet(extraKeys);
  const redactErrorFields = (serialized: unknown): unknown =>
    isObject(serialized) ? redactNested('err', serialized, secretKeys) : serialized;
  const logger = pino(
    {
      level,
      name,
      base: { pid: process.pid },
      // pino.stdTimeFunctions.isoTime's format, without formatting a date per line.
      timestamp: () => `,"time":"${isoNow()}"`,
      // Redaction at every way into a line: the logged object, the serialized error, objects interpolated
      // into a message (`log.info('%o', obj)`) and child bindings (below).
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object, secretKeys, 'err'),
      },
      serializers: { err: (error: Error) => redactErrorFields(pino.stdSerializers.err(error)) },
      hooks: {
        logMethod(args, method) {
          for (let i = 1; i < args.length; i++) {
            const arg: unknown = args[i];
            if (isObject(arg) && !Array.isArray(arg)) args[i] = redactSecrets(arg, secretKeys);
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
    return createChild.call(this, redactSecrets(bindings, secretKeys, 'err'), options);
  } as Logger['child'];
  return logger;
}

export type { Logger };
