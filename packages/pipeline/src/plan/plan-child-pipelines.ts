import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { type CommitRange, resolveCommitRange } from './commit-range';
import { listChangedFiles } from './git';
import { queryTurboWorkspace, type TurboChangeReason, type WorkspacePackage } from './turbo';

/** One app whose pipeline runs, and why: the shape `slipway plan --format json` prints. */
export interface PlannedApp {
  /** The app's directory name, e.g. "weather-app"; its trigger job is "<app>-pipeline". */
  app: string;
  /** Relative to the repository root, e.g. "apps/weather-app". */
  path: string;
  reason: string;
}

export interface ChildPipelinePlan {
  range: CommitRange;
  apps: PlannedApp[];
  /** Every workspace under apps/, planned or not, so the log can say which apps were skipped. */
  allApps: string[];
}

export interface PlanOptions {
  /** The repository root. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  base?: string | undefined;
  head?: string | undefined;
  log?: (line: string) => void;
}

const APPS_DIRECTORY = 'apps/';
export const APP_PIPELINE_FILE = '.gitlab-ci.yml';

/**
 * Root-level paths every app's pipeline is built from, which turbo attributes to the root package only:
 * the CI templates, the shared Dockerfile, the lockfile every image installs from, and turbo's own config.
 */
const PIPELINE_WIDE_PATHS = ['ci-templates/', 'docker/', 'package-lock.json', 'turbo.json'];

export function isDocumentation(file: string): boolean {
  return /\.md$/i.test(file) || /(^|\/)docs\//.test(file);
}

function isPipelineWide(file: string): boolean {
  return PIPELINE_WIDE_PATHS.some((path) => (path.endsWith('/') ? file.startsWith(path) : file === path));
}

function isInside(directory: string, file: string): boolean {
  return directory !== '' && file.startsWith(`${directory}/`);
}

function everyApp(apps: WorkspacePackage[], reason: string): PlannedApp[] {
  return apps.map((app) => ({ app: posix.basename(app.path), path: app.path, reason }));
}

/** turbo's reasons that are not about a file inside the app or a workspace dependency: they hold as turbo says. */
function describeWorkspaceWideReason(reason: TurboChangeReason, range: CommitRange): string | undefined {
  switch (reason.__typename) {
    case 'FileChanged':
    case 'DependencyChanged':
      return undefined;
    case 'GlobalDepsChanged':
    case 'DefaultGlobalFileChanged':
      return `${reason.filePath ?? 'a global dependency'} changed (affects every app)`;
    case 'LockfileChanged':
    case 'LockfileChangedWithoutDetails':
    case 'LockfileChangeDetectionFailed':
    case 'ConservativeRootLockfileChanged':
      return 'package-lock.json changed (affects every app)';
    case 'GitRefNotFound':
      return `turbo cannot find ${range.base ?? 'the base commit'}, so every app runs`;
    case 'ScmError':
      return `turbo cannot compare the commits (${reason.error ?? 'git error'}), so every app runs`;
    default:
      return `turbo reports ${reason.__typename}`;
  }
}

/**
 * Decides which apps' child pipelines a change needs. turbo answers which workspace packages the change affects
 * and through which dependency; on top of that, documentation never triggers a pipeline and the root-level
 * files every pipeline is built from (PIPELINE_WIDE_PATHS) trigger all of them.
 */
export async function planChildPipelines(options: PlanOptions): Promise<ChildPipelinePlan> {
  const log = options.log ?? (() => undefined);
  const { cwd } = options;
  const range = await resolveCommitRange({
    cwd,
    env: options.env,
    base: options.base,
    head: options.head,
    log,
  });
  const { base, head } = range;
  const workspace = await queryTurboWorkspace(cwd, base ? { base, head } : undefined);
  const apps = workspace.packages
    .filter((pkg) => pkg.path.startsWith(APPS_DIRECTORY))
    .sort((a, b) => a.path.localeCompare(b.path));
  const allApps = apps.map((app) => posix.basename(app.path));

  if (!base) {
    const reason = `the base (${range.baseDescription}) is not in the repository, so every app runs`;
    return { range, apps: everyApp(apps, reason), allApps };
  }
  if (base === head && range.baseSource === 'default-branch') {
    // A tag, or a manual, scheduled or local run on the default branch: there is no earlier push to compare with.
    const reason =
      'HEAD is on the default branch and there is no previous push to compare with ' +
      '(a tag, or a manual, scheduled or local run), so every app runs';
    return { range, apps: everyApp(apps, reason), allApps };
  }

  const codeChanges = (await listChangedFiles(cwd, base, head)).filter((file) => !isDocumentation(file));
  const packagesWithCodeChanges = new Set(
    workspace.packages
      .filter((pkg) => codeChanges.some((file) => isInside(pkg.path, file)))
      .map((pkg) => pkg.name),
  );
  const turboReasons = new Map((workspace.affected ?? []).map((pkg) => [pkg.name, pkg.reason]));
  const pipelineWideChange = codeChanges.find(isPipelineWide);

  const result: PlannedApp[] = [];
  for (const app of apps) {
    const turboReason = turboReasons.get(app.name);
    let reason: string | undefined;
    if (turboReason) {
      // turbo names one file per package, possibly a README; report a code change instead, and drop the app
      // when its own files and its dependencies changed only in documentation.
      const ownChange = codeChanges.find((file) => isInside(app.path, file));
      const changedDependency = app.dependencies.find(
        (name) => name !== '//' && packagesWithCodeChanges.has(name),
      );
      reason =
        describeWorkspaceWideReason(turboReason, range) ??
        (ownChange
          ? `${ownChange} changed`
          : changedDependency
            ? `depends on ${changedDependency}, which changed`
            : undefined);
    }
    if (!reason && pipelineWideChange) reason = `${pipelineWideChange} changed (affects every app)`;
    if (reason) result.push({ app: posix.basename(app.path), path: app.path, reason });
  }
  return { range, apps: result, allApps };
}

/** An affected app without its own pipeline file would fail only when GitLab creates the child pipeline. */
export function findAppsWithoutPipeline(cwd: string, apps: PlannedApp[]): PlannedApp[] {
  return apps.filter((app) => !existsSync(join(cwd, app.path, APP_PIPELINE_FILE)));
}
