import { execFileSync } from 'node:child_process';

export type VersionInfo = { version: string; commit: string; buildTime: string; node: string };

export type VersionSources = {
  env: {
    APP_VERSION?: string | undefined;
    GIT_COMMIT_SHA?: string | undefined;
    BUILD_TIME?: string | undefined;
  };
  packageVersion?: string;
  cwd?: string;
};

function gitHead(cwd: string | undefined): string | undefined {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    })
      .toString()
      .trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What is running. Build metadata comes from the environment (CI sets it from CI_COMMIT_SHA; the image bakes
 * it in from build args). A developer checkout falls back to the package version and `git rev-parse HEAD`.
 * Resolved once at start-up: `/version` must be cheap and must not shell out per request.
 */
export function resolveVersionInfo({ env, packageVersion, cwd }: VersionSources): VersionInfo {
  return {
    version: env.APP_VERSION ?? packageVersion ?? 'unknown',
    commit: env.GIT_COMMIT_SHA ?? gitHead(cwd) ?? 'unknown',
    buildTime: env.BUILD_TIME ?? 'unknown',
    node: process.version,
  };
}
