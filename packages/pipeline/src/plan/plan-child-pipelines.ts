import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { APPS_DIRECTORY, appPipelineFile } from '../repo';
import { type CommitRange, describeHead, resolveCommitRange, resolveHead } from './commit-range';
import { computeContentKeys } from './content-key';
import {
  DEFAULT_BRANCH_ENVIRONMENT,
  findEnvironments,
  readServedVersion,
  type ServedVersion,
} from './environments';
import { hasUncommittedChanges, listChangedFiles, normaliseRevision, resolveCommit } from './git';
import { contentTag, type ImageLookup, readRegistryConfig, RegistryClient } from './registry';
import { queryTurboWorkspace, type TurboChangeReason, type WorkspacePackage } from './turbo';

/**
 * How the planner decides, from the pipeline GitLab runs (https://docs.gitlab.com/ci/variables/predefined_variables/):
 * - `tag` (CI_COMMIT_TAG): every app is released by its content key;
 * - `schedule` (CI_PIPELINE_SOURCE "schedule") and `default-branch` (CI_COMMIT_BRANCH == CI_DEFAULT_BRANCH):
 *   reconcile, i.e. an app runs when its content has no image yet or its environment serves other content;
 * - `merge-request` (CI_PIPELINE_SOURCE "merge_request_event"): an app runs when the merge request changes it;
 * - `diff` (--base, any other branch, a local run): an app runs when the change from base to head touches it.
 */
export type PlanMode = 'tag' | 'schedule' | 'default-branch' | 'merge-request' | 'diff';

/** One app whose pipeline runs, and why: the shape `slipway plan --format json` prints. */
export interface PlannedApp {
  /** The app's directory name, e.g. "weather-app"; its trigger job is "<app>-pipeline". */
  app: string;
  /** Relative to the repository root, e.g. "apps/weather-app". */
  path: string;
  reason: string;
  /** turbo's hash of the app's image inputs at head; absent when turbo.json has no `image` task. */
  contentKey?: string | undefined;
}

/** The decision for every app, planned or not, for the job log. */
export interface AppDecision extends PlannedApp {
  run: boolean;
}

export interface ChildPipelinePlan {
  mode: PlanMode;
  head: string;
  /** The commits compared; absent when the plan did not need a diff (a tag, or every app answered by its environment). */
  range: CommitRange | undefined;
  apps: PlannedApp[];
  decisions: AppDecision[];
  /** Every workspace under apps/, planned or not, so the log can say which apps were skipped. */
  allApps: string[];
  /**
   * The work tree has uncommitted changes, which the plan includes: turbo hashes (content keys) and compares the
   * files on disk. Never true in a CI job's clean checkout.
   */
  workingTree: boolean;
}

export interface PlanOptions {
  /** The repository root. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  base?: string | undefined;
  head?: string | undefined;
  log?: (line: string) => void;
  /** Per request to the registry or an environment; default 5000 ms. */
  timeoutMs?: number;
}

/**
 * Root-level paths every app's pipeline is built from, which turbo attributes to the root package only:
 * the CI templates, the shared Dockerfile, the lockfile every image installs from, and turbo's own config.
 */
const PIPELINE_WIDE_PATHS = ['ci-templates/', 'docker/', 'package-lock.json', 'turbo.json'];

/**
 * Documentation never reaches an image or a test: Markdown files and docs/ folders at the root or at the top of a
 * workspace. Anything under a workspace's src/ is code, whatever its name (apps/x/src/docs/ may be served).
 */
export function isDocumentation(file: string): boolean {
  if (/^(?:apps|packages)\/[^/]+\/src\//.test(file)) return false;
  return /\.md$/i.test(file) || /^(?:(?:apps|packages)\/[^/]+\/)?docs\//.test(file);
}

function isPipelineWide(file: string): boolean {
  return PIPELINE_WIDE_PATHS.some((path) => (path.endsWith('/') ? file.startsWith(path) : file === path));
}

function isInside(directory: string, file: string): boolean {
  return directory !== '' && file.startsWith(`${directory}/`);
}

/** The plan mode for this pipeline; --base always means "compare with this commit". */
export function choosePlanMode(env: NodeJS.ProcessEnv, base: string | undefined): PlanMode {
  if (base !== undefined && base.trim() !== '') return 'diff';
  if (env.CI_COMMIT_TAG?.trim()) return 'tag';
  if (env.CI_PIPELINE_SOURCE === 'schedule') return 'schedule';
  if (env.CI_PIPELINE_SOURCE === 'merge_request_event' || env.CI_MERGE_REQUEST_IID?.trim())
    return 'merge-request';
  const branch = env.CI_COMMIT_BRANCH?.trim();
  if (branch && branch === env.CI_DEFAULT_BRANCH?.trim()) return 'default-branch';
  return 'diff';
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
 * Which apps the change in `range` touches, with the reason for each (undefined: not touched). turbo answers
 * which workspace packages the change affects and through which dependency; on top of that, documentation never
 * counts, the root-level files every pipeline is built from (PIPELINE_WIDE_PATHS) count for every app, and an app
 * turbo calls affected for a reason the planner cannot narrow down to documentation runs: unsure means run.
 */
async function appsTouchedByDiff(
  cwd: string,
  range: CommitRange,
  apps: WorkspacePackage[],
): Promise<Map<string, string | undefined>> {
  const touched = new Map<string, string | undefined>();
  const { base, head } = range;
  if (!base) {
    const reason = `the base (${range.baseDescription}) is not in the repository, so every app runs`;
    for (const app of apps) touched.set(app.name, reason);
    return touched;
  }
  if (base === head && range.baseSource === 'default-branch') {
    // A manual or local run on the default branch: there is no earlier push to compare with.
    const reason =
      'HEAD is on the default branch and there is no previous push to compare with ' +
      '(a manual, scheduled or local run), so every app runs';
    for (const app of apps) touched.set(app.name, reason);
    return touched;
  }
  // turbo compares the merge base; after a force push the trees themselves are compared, without turbo.
  const workspace = await queryTurboWorkspace(
    cwd,
    range.comparison === 'merge-base' ? { base, head } : undefined,
  );
  const changes = await listChangedFiles(cwd, base, head, range.comparison, range.workingTree);
  const codeChanges = changes.filter((file) => !isDocumentation(file));
  const packagesWithCodeChanges = new Set(
    workspace.packages
      .filter((pkg) => codeChanges.some((file) => isInside(pkg.path, file)))
      .map((pkg) => pkg.name),
  );
  const packagesWithAnyChanges = new Set(
    workspace.packages
      .filter((pkg) => changes.some((file) => isInside(pkg.path, file)))
      .map((pkg) => pkg.name),
  );
  const pathOf = new Map(workspace.packages.map((pkg) => [pkg.name, pkg.path]));
  const turboReasons = new Map((workspace.affected ?? []).map((pkg) => [pkg.name, pkg.reason]));
  const pipelineWideChange = codeChanges.find(isPipelineWide);

  for (const app of apps) {
    const dependencies = app.dependencies.filter((name) => name !== '//' && pathOf.has(name));
    const ownChange = codeChanges.find((file) => isInside(app.path, file));
    const changedDependency = dependencies.find((name) => packagesWithCodeChanges.has(name));
    const turboReason = turboReasons.get(app.name);
    let reason: string | undefined = ownChange
      ? `${ownChange} changed`
      : changedDependency
        ? `depends on ${changedDependency}, which changed`
        : undefined;
    if (!reason && turboReason) {
      reason = describeWorkspaceWideReason(turboReason, range);
      const onlyDocumentation =
        packagesWithAnyChanges.has(app.name) || dependencies.some((name) => packagesWithAnyChanges.has(name));
      if (!reason && !onlyDocumentation) {
        // turbo saw a change the planner's own file list does not explain: run rather than skip.
        const file = turboReason.filePath ?? turboReason.dependencyName ?? turboReason.__typename;
        reason = `turbo reports a change (${file}) the planner cannot rule out, so it runs`;
      }
    }
    if (!reason && pipelineWideChange) reason = `${pipelineWideChange} changed (affects every app)`;
    touched.set(app.name, reason);
  }
  return touched;
}

interface AppState {
  pkg: WorkspacePackage;
  app: string;
  contentKey: string | undefined;
  image: ImageLookup | undefined;
  environment: { name: string; url: string; served: ServedVersion } | undefined;
}

function short(value: string | undefined): string {
  return value ? value.slice(0, 12) : 'unknown';
}

/** Reads the registry and the default branch's environment for every app, in parallel. */
async function observeApps(
  apps: WorkspacePackage[],
  keys: Map<string, string>,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<AppState[]> {
  const registryConfig = readRegistryConfig(env);
  const registry = registryConfig ? new RegistryClient(registryConfig, timeoutMs) : undefined;
  return Promise.all(
    apps.map(async (pkg) => {
      const app = posix.basename(pkg.path);
      const contentKey = keys.get(pkg.name);
      const image = registry && contentKey ? await registry.lookup(app, contentTag(contentKey)) : undefined;
      const configured = findEnvironments(app, env).find((e) => e.name === DEFAULT_BRANCH_ENVIRONMENT);
      const environment = configured
        ? { ...configured, served: await readServedVersion(configured.url, timeoutMs) }
        : undefined;
      return { pkg, app, contentKey, image, environment };
    }),
  );
}

/**
 * The reconciling decision for one app on the default branch or a schedule. Output: a reason and whether the app
 * runs, or "ask the diff" when neither the registry nor the environment can settle it.
 */
function reconcileApp(
  state: AppState,
  mode: 'default-branch' | 'schedule',
): { run: boolean; reason: string } | { diff: string } {
  const { contentKey, image, environment } = state;
  if (!contentKey) return { diff: 'no content key (turbo.json has no image task)' };
  const key = short(contentKey);
  if (image?.state === 'missing') return { run: true, reason: `content ${key} has no image yet` };
  const imageNote =
    image?.state === 'found'
      ? `image ${image.digest.slice(0, 19)} (built by ${short(image.commit)})`
      : image?.state === 'unreachable'
        ? `registry cannot be asked (${image.reason})`
        : 'no registry configured';
  if (environment?.served.state === 'reachable') {
    const served = environment.served.contentKey;
    if (served === contentKey)
      return { run: false, reason: `${environment.name} serves content ${key}: in sync; ${imageNote}` };
    return {
      run: true,
      reason: `drift: ${environment.name} serves content ${short(served)} (commit ${short(environment.served.commit)}), HEAD's content is ${key}; ${imageNote}`,
    };
  }
  const environmentNote = environment
    ? `${environment.name} cannot be asked (${environment.served.state === 'unreachable' ? environment.served.reason : ''})`
    : `no ${DEFAULT_BRANCH_ENVIRONMENT} URL configured`;
  if (mode === 'schedule') {
    // A schedule has no push to compare with; an environment that does not answer is redeployed, one that is not
    // configured is left alone.
    if (environment) return { run: true, reason: `${environmentNote}: redeploying content ${key}` };
    return { run: false, reason: `${environmentNote}; ${imageNote}; nothing to reconcile` };
  }
  return { diff: `${imageNote}, ${environmentNote}` };
}

function describeRange(range: CommitRange): string {
  return `${short(range.base)}..${describeHead(range.head, range.workingTree)} (${range.baseDescription})`;
}

/**
 * Decides which apps' child pipelines run, and why (see PlanMode). Inputs: the repository root, the CI
 * environment, optional --base/--head. Output: the plan, one decision per app. Throws on malformed CI variables
 * (a CI_*_SHA that is not a SHA) or a revision flag that starts with "-"; a registry or environment that cannot be
 * asked is not an error, the planner falls back to the diff.
 */
export async function planChildPipelines(options: PlanOptions): Promise<ChildPipelinePlan> {
  const log = options.log ?? (() => undefined);
  const { cwd, env } = options;
  const timeoutMs = options.timeoutMs ?? 5000;
  const mode = choosePlanMode(env, options.base);
  const head = await resolveHead(cwd, env, options.head);
  // Only a plan at the checked-out commit stands for the work tree; another --head is compared as committed.
  const workingTree = head === (await resolveCommit(cwd, 'HEAD')) && (await hasUncommittedChanges(cwd));
  if (workingTree)
    log('the work tree has uncommitted changes: the plan includes them (turbo reads the files on disk)');
  const workspace = await queryTurboWorkspace(cwd, undefined);
  const apps = workspace.packages
    .filter((pkg) => pkg.path.startsWith(`${APPS_DIRECTORY}/`))
    .sort((a, b) => a.path.localeCompare(b.path));
  const allApps = apps.map((app) => posix.basename(app.path));
  let keys = new Map<string, string>();
  try {
    keys = new Map(
      (await computeContentKeys(cwd, env)).map((entry) => [entry.packageName, entry.contentKey]),
    );
  } catch (error) {
    log(`content keys unavailable, planning without them: ${(error as Error).message}`);
  }

  let range: CommitRange | undefined;
  let touched: Map<string, string | undefined> | undefined;
  const diff = async () => {
    range ??= {
      ...(await resolveCommitRange({ cwd, env, base: options.base, head: options.head, log })),
      workingTree,
    };
    touched ??= await appsTouchedByDiff(cwd, range, apps);
    return { range, touched };
  };

  const decisions: AppDecision[] = [];
  const decide = (pkg: WorkspacePackage, run: boolean, reason: string) =>
    decisions.push({
      app: posix.basename(pkg.path),
      path: pkg.path,
      reason,
      run,
      contentKey: keys.get(pkg.name),
    });

  if (mode === 'tag') {
    // Never given to git, but it lands in the job log and the child pipeline's comments: one line, no option.
    const tag = normaliseRevision(env.CI_COMMIT_TAG!, 'CI_COMMIT_TAG');
    for (const pkg of apps) {
      const key = keys.get(pkg.name);
      decide(
        pkg,
        true,
        key
          ? `tag ${tag}: release content ${short(key)} (reuses its image, builds it only if there is none)`
          : `tag ${tag}: release the image of ${short(head)} (no content key)`,
      );
    }
  } else if (mode === 'default-branch' || mode === 'schedule') {
    const states = await observeApps(apps, keys, env, timeoutMs);
    for (const state of states) {
      const decision = reconcileApp(state, mode);
      if ('run' in decision) {
        decide(state.pkg, decision.run, decision.reason);
        continue;
      }
      const { range: compared, touched: changes } = await diff();
      const why = changes.get(state.pkg.name);
      const fallback = `${decision.diff}; so the diff ${describeRange(compared)}`;
      decide(state.pkg, why !== undefined, `${fallback}: ${why ?? 'not affected'}`);
    }
  } else {
    const { touched: changes } = await diff();
    for (const pkg of apps) {
      const why = changes.get(pkg.name);
      decide(pkg, why !== undefined, why ?? 'not affected');
    }
  }

  const planned = decisions
    .filter((d) => d.run)
    .map(({ app, path, reason, contentKey }) => ({ app, path, reason, contentKey }));
  return { mode, head, range, apps: planned, decisions, allApps, workingTree };
}

/** An affected app without its own pipeline file would fail only when GitLab creates the child pipeline. */
export function findAppsWithoutPipeline(cwd: string, apps: PlannedApp[]): PlannedApp[] {
  return apps.filter((app) => !existsSync(join(cwd, appPipelineFile(app.path))));
}
