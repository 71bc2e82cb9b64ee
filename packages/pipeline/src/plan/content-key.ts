import { z } from 'zod';
import { runTurbo } from './turbo';

/**
 * The turbo task whose hash is an app's content key. It never runs (no workspace has an `image` script); it only
 * declares what goes into the app's image on top of its own `build` (turbo.json: the Dockerfile, the image's
 * helper files, .dockerignore, .npmrc, and SLIPWAY_IMAGE_BUILD_ARGS), and through `dependsOn: ["build"]` turbo
 * folds in the app's sources, every workspace package it depends on, and the lockfile entries they resolve to.
 */
export const CONTENT_KEY_TASK = 'image';

/**
 * Build arguments that apply to every app's image and therefore take part in its content key (space-separated
 * NAME=value, e.g. NODE_IMAGE=node:24.11.1-bookworm-slim). build.yml passes the same variable to the builder.
 */
export const IMAGE_BUILD_ARGS_VARIABLE = 'SLIPWAY_IMAGE_BUILD_ARGS';

/**
 * The shape of a content key wherever one is passed on (`slipway verify --expect-content-key`, the chassis's
 * CONTENT_KEY, the templates' SLIPWAY_CONTENT_KEY): lowercase hex digits, 16 as turbo hashes a task, up to 64 (a
 * SHA-256) for a key a team computes some other way.
 */
export const CONTENT_KEY_PATTERN = /^[0-9a-f]{16,64}$/;
/** CONTENT_KEY_PATTERN in words, for error messages. */
export const CONTENT_KEY_SHAPE = '16 to 64 lowercase hex digits';

const dryRunSchema = z.object({
  tasks: z.array(
    z.object({
      taskId: z.string(),
      task: z.string(),
      package: z.string(),
      hash: z.string().regex(/^[0-9a-f]{16}$/),
      directory: z.string(),
    }),
  ),
});

export interface AppContentKey {
  /** The workspace package name, e.g. "@slipway/weather-app". */
  packageName: string;
  /** Relative to the repository root, e.g. "apps/weather-app". */
  path: string;
  /** turbo's 16-hex hash of the `image` task: equal for two trees whose image inputs are equal. */
  contentKey: string;
}

/**
 * The environment turbo hashes with. Only PATH and HOME are kept from the caller: turbo folds the values of
 * globalEnv (NODE_ENV) and task `env` into every hash, so a job that happens to set NODE_ENV must not get another
 * key than a laptop. The image build arguments are passed explicitly.
 */
function hashingEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    PATH: env.PATH ?? process.env.PATH,
    HOME: env.HOME ?? process.env.HOME,
    [IMAGE_BUILD_ARGS_VARIABLE]: (env[IMAGE_BUILD_ARGS_VARIABLE] ?? '').trim().split(/\s+/).sort().join(' '),
  };
}

function runTurboDryRun(cwd: string, filter: string, env: NodeJS.ProcessEnv): Promise<string> {
  return runTurbo(
    cwd,
    ['run', CONTENT_KEY_TASK, '--dry=json', `--filter=${filter}`],
    hashingEnvironment(env),
  );
}

/**
 * The content key of every workspace under apps/, from one `turbo run image --dry=json --filter=./apps/*`.
 * Input: the repository root and the environment (only SLIPWAY_IMAGE_BUILD_ARGS, PATH and HOME are read).
 * Output: one entry per app, sorted by path. Throws when turbo fails or prints something unexpected.
 * turbo hashes the working tree as it is on disk: in CI that is the commit; on a laptop uncommitted edits count.
 */
export async function computeContentKeys(cwd: string, env: NodeJS.ProcessEnv): Promise<AppContentKey[]> {
  const output = await runTurboDryRun(cwd, './apps/*', env);
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    throw new Error(
      `turbo run ${CONTENT_KEY_TASK} --dry=json printed something other than JSON: ${output.slice(0, 200)}`,
    );
  }
  const result = dryRunSchema.safeParse(parsed);
  if (!result.success) {
    throw new Error(
      `turbo run ${CONTENT_KEY_TASK} --dry=json: unexpected shape (${result.error.issues[0]?.message})`,
    );
  }
  return result.data.tasks
    .filter((task) => task.task === CONTENT_KEY_TASK && task.directory.startsWith('apps/'))
    .map((task) => ({ packageName: task.package, path: task.directory, contentKey: task.hash }))
    .sort((a, b) => a.path.localeCompare(b.path));
}
