import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; `message` is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The variables every Slipway service understands. Apps extend this with `.extend({...})`. */
export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // How long shutdown may take before the process gives up and exits 1.
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  // Time between readiness turning 503 and the listener closing, so a load balancer can stop routing first.
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
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

/**
 * Validates the environment against a zod schema. On failure it throws a ConfigError whose message names
 * the first offending variable and never echoes its value, since it may be a secret.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(withoutEmptyValues(env));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = issue?.path.join('.') || '(environment)';
  const reason = issue?.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue?.message;
  throw new ConfigError(`Invalid configuration: ${variable} ${reason}`);
}

/** For entry points: a bad environment stops start-up with one clear line on stderr and exit code 1. */
export function loadConfigOrExit<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
