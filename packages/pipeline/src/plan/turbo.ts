import { execFile } from 'node:child_process';
import { z } from 'zod';

const packageSchema = z.object({
  name: z.string(),
  path: z.string(),
  allDependencies: z.object({ items: z.array(z.object({ name: z.string() })) }),
});

// Only the reason variants the planner words differently are spelled out; the rest keep their __typename.
const reasonSchema = z.looseObject({
  __typename: z.string(),
  filePath: z.string().optional(),
  dependencyName: z.string().optional(),
  error: z.string().optional(),
});

const affectedSchema = z.object({ name: z.string(), path: z.string(), reason: reasonSchema });

const responseSchema = z.object({
  data: z
    .object({
      packages: z.object({ items: z.array(packageSchema) }),
      affectedPackages: z.object({ items: z.array(affectedSchema) }).optional(),
    })
    .nullable(),
  errors: z.array(z.object({ message: z.string() })).optional(),
});

export type TurboChangeReason = z.infer<typeof reasonSchema>;

export interface WorkspacePackage {
  name: string;
  /** Relative to the repository root, e.g. "apps/weather-app"; "" for the root package "//". */
  path: string;
  /** Workspace packages it depends on, directly or not, as turbo's package graph has them. */
  dependencies: string[];
}

export interface TurboAffectedPackage {
  name: string;
  path: string;
  reason: TurboChangeReason;
}

export interface TurboWorkspaceView {
  packages: WorkspacePackage[];
  /** Absent when no base commit was given. */
  affected: TurboAffectedPackage[] | undefined;
}

/**
 * Runs the workspace's turbo with `args` in `cwd` and resolves with its stdout.
 * `env` defaults to this process's environment; telemetry, the update notifier and colours are always off.
 * Rejects with one clear line when turbo is not installed or exits non-zero (its stderr, trimmed).
 */
export function runTurbo(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'turbo',
      args,
      {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1' },
      },
      (error, stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            new Error(
              missing
                ? 'turbo is not on PATH; install the workspace (npm ci) and run slipway through npx or npm run'
                : `turbo ${args[0]} failed: ${stderr.trim() || error.message}`,
            ),
          );
          return;
        }
        resolve(stdout);
      },
    );
  });
}

function runTurboQuery(cwd: string, query: string): Promise<string> {
  return runTurbo(cwd, ['query', query]);
}

const REASON_FIELDS = `reason {
  __typename
  ... on FileChanged { filePath }
  ... on DependencyChanged { dependencyName }
  ... on GlobalDepsChanged { filePath }
  ... on DefaultGlobalFileChanged { filePath }
  ... on ScmError { error }
}`;

/**
 * Asks turbo, in one `turbo query`, for the workspace's package graph and, given a base, for the packages the
 * change from base to head affects (turbo compares the merge base of the two, like `git diff base...head`).
 */
export async function queryTurboWorkspace(
  cwd: string,
  range: { base: string; head: string } | undefined,
): Promise<TurboWorkspaceView> {
  // The SHAs come from `git rev-parse`, so JSON-quoting them is all the escaping GraphQL needs.
  const affected = range
    ? `affectedPackages(base: ${JSON.stringify(range.base)}, head: ${JSON.stringify(range.head)}) { items { name path ${REASON_FIELDS} } }`
    : '';
  const query = `query { packages { items { name path allDependencies { items { name } } } } ${affected} }`;
  const output = await runTurboQuery(cwd, query);
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    throw new Error(`turbo query printed something other than JSON: ${output.slice(0, 200)}`);
  }
  const response = responseSchema.parse(parsed);
  if (response.errors?.length || !response.data) {
    throw new Error(`turbo query failed: ${(response.errors ?? []).map((e) => e.message).join('; ')}`);
  }
  return {
    packages: response.data.packages.items.map((item) => ({
      name: item.name,
      path: item.path,
      dependencies: item.allDependencies.items.map((dependency) => dependency.name),
    })),
    affected: response.data.affectedPackages?.items,
  };
}
