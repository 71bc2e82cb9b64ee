import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
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
 * The turbo to run in `cwd`: the workspace's own, `node_modules/.bin/turbo` in `cwd` or the nearest directory above
 * it that has one (the version the repository's turbo.json was written for, and found however slipway was started:
 * `npx slipway`, a path to bin/slipway.js or an alias); else `turbo`, looked up on PATH.
 */
export function turboExecutable(cwd: string): string {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', 'turbo');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return 'turbo';
  }
}

/**
 * Runs the workspace's turbo (turboExecutable) with `args` in `cwd` and resolves with its stdout.
 * `env` defaults to this process's environment; telemetry, the update notifier and colours are always off.
 * Rejects with one clear line when turbo is not installed or exits non-zero (its stderr, trimmed).
 */
export function runTurbo(cwd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      turboExecutable(cwd),
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
                ? 'turbo is neither in the repository (node_modules/.bin) nor on PATH; install the workspace (npm ci)'
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
