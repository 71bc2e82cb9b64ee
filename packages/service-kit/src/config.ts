import { z } from 'zod';
import { plainIssueMessages } from './issue-messages';

/**
 * Thrown when the environment does not satisfy a service's schema, or names a host or port the server cannot
 * listen on: `message` is one line naming every offending variable and what it expects.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The exit code of a start-up refused for configuration (EX_CONFIG in sysexits.h), distinct from a crash (1). */
export const CONFIG_ERROR_EXIT_CODE = 78;

/**
 * An integer variable: digits only (`5s`, `1.5` and `abc` say "must be a whole number", never "is
 * required"), then the range. `unit` names what the number counts, for the message. Also the rule for any other
 * whole number given as text, such as a query parameter (`limit=`, `limit=1e1`, `limit=0x10` are refused).
 */
export function integerVariable({ min, max, unit }: { min: number; max: number; unit?: string }) {
  const range = `from ${min} to ${max}${unit ? ` ${unit}` : ''}`;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, `must be a whole number ${range}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be ${range}`).max(max, `must be ${range}`));
}

/**
 * A TCP port: digits only, 0 to 65535 (0 lets the system choose). The one PORT rule of every app and the
 * generator's template, so `PORT=0x9c47`, `PORT=4e4` and `PORT=abc` are refused alike ("PORT must be a whole
 * number from 0 to 65535"), never read as 40007, 40000 or "required".
 */
export function portVariable() {
  return integerVariable({ min: 0, max: 65535 });
}

/** A variable with a fixed set of values; the message lists them. */
export function oneOfVariable<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { message: `must be one of: ${values.join(', ')}` });
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`); anything else is an error, never silently true. */
export function booleanVariable() {
  return z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => ['true', 'false', '1', '0', 'yes', 'no'].includes(value), {
      message: 'must be true or false',
    })
    .transform((value) => value === 'true' || value === '1' || value === 'yes');
}

// RFC 1123 host names and IP literals; whether the name resolves is checked when the server listens.
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** The variables every Slipway service understands. Apps extend this with `.extend({...})`. */
export const baseEnvSchema = z.object({
  NODE_ENV: oneOfVariable(['development', 'test', 'production']).default('development'),
  PORT: portVariable().default(3000),
  HOST: z
    .string()
    .trim()
    .refine(
      (host) => z.ipv4().safeParse(host).success || z.ipv6().safeParse(host).success || HOST_NAME.test(host),
      {
        message: 'must be an IP address or a host name, such as 0.0.0.0, :: or localhost',
      },
    )
    .default('0.0.0.0'),
  LOG_LEVEL: oneOfVariable(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // How long shutdown may take before the process gives up and exits 1.
  SHUTDOWN_TIMEOUT_MS: integerVariable({ min: 100, max: 600_000, unit: 'milliseconds' }).default(10_000),
  // Time between readiness turning 503 and the listener closing, so a load balancer can stop routing first.
  SHUTDOWN_DRAIN_DELAY_MS: integerVariable({ min: 0, max: 120_000, unit: 'milliseconds' }).default(0),
  // Error responses include the stack trace only when this is true: never by default, not even in
  // development, because a stack shows absolute paths and library internals to whoever sees the page.
  EXPOSE_STACK_TRACES: booleanVariable().default(false),
  APP_VERSION: z.string().min(1).optional(),
  GIT_COMMIT_SHA: z
    .string()
    .regex(/^[0-9a-f]{40}$/, 'must be a full 40-character lowercase hex commit SHA')
    .optional(),
  // The image's content key (hex, as `slipway plan` computes it); /version reports it as contentKey.
  CONTENT_KEY: z
    .string()
    .regex(/^[0-9a-f]{16,64}$/, 'must be a content key: 16 to 64 lowercase hex digits')
    .optional(),
  BUILD_TIME: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp' }).optional(),
});

export type BaseConfig = z.infer<typeof baseEnvSchema>;

// Empty strings mean "unset": `FOO= node server.js` and compose files with blank values should fall back to defaults.
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => !!e[1] && e[1].trim() !== ''),
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const variable = issue.path.join('.') || '(environment)';
  // plainIssueMessages wrote the words ("is required" only for an unset variable): zod drops `input` from
  // finished issues, so it cannot be told here whether a variable was unset or unreadable.
  return `${variable} ${issue.message}`;
}

/**
 * Validates the environment against a zod schema. On failure it throws a ConfigError whose message is one
 * line naming every offending variable with what it expects (`Invalid configuration: PORT must be a whole
 * number from 0 to 65535; SHUTDOWN_TIMEOUT_MS ...`), and never echoes a value, since it may be a secret.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(withoutEmptyValues(env), { error: plainIssueMessages });
  if (result.success) return result.data;
  // One message per variable: a value failing two rules is one problem to fix.
  const reasons = new Map<string, string>();
  for (const issue of result.error.issues) {
    const key = issue.path.join('.');
    if (!reasons.has(key)) reasons.set(key, describeIssue(issue));
  }
  throw new ConfigError(`Invalid configuration: ${[...reasons.values()].join('; ')}`);
}

/**
 * For entry points: prints a ConfigError as the last line on stderr and exits with CONFIG_ERROR_EXIT_CODE
 * (78); anything else is rethrown.
 */
export function exitOnConfigError(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(CONFIG_ERROR_EXIT_CODE);
}

/**
 * For an entry point's `main().catch(...)`: a ConfigError (a bad variable, also a HOST or PORT the server cannot
 * listen on) ends start-up with its one line on stderr and exit 78; anything else is a crash:
 * "<service> failed to start: <message>" on stderr and exit 1.
 */
export function exitOnStartupError(service: string, error: unknown): never {
  try {
    exitOnConfigError(error);
  } catch {
    process.stderr.write(
      `${service} failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
}

/** For entry points: a bad environment stops start-up with one line on stderr and exit code 78. */
export function loadConfigOrExit<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    exitOnConfigError(error);
  }
}
