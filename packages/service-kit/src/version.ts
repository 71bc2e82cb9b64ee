import { execFileSync } from 'node:child_process';

/**
 * What `/version` reports. `commit` is the commit that built the image; `contentKey` is the image's content key
 * (the hash of everything that went into it, from `slipway plan`), so an image an earlier commit built, reused
 * for a later commit with the same content, still proves what it serves. Unset values read "unknown".
 */
export type VersionInfo = {
  version: string;
  commit: string;
  contentKey: string;
  buildTime: string;
  node: string;
};

export type VersionSources = {
  env: {
    APP_VERSION?: string | undefined;
    GIT_COMMIT_SHA?: string | undefined;
    /** Baked into the image from the CONTENT_KEY build argument (docker/Dockerfile). */
    CONTENT_KEY?: string | undefined;
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
    contentKey: env.CONTENT_KEY ?? 'unknown',
    buildTime: env.BUILD_TIME ?? 'unknown',
    node: process.version,
  };
}
