import {
  isAncestor,
  isFullSha,
  isShallowRepository,
  mergeBase,
  normaliseRevision,
  resolveCommit,
  tryGit,
} from './git';

/** Where the base commit came from, in the order the planner tries them. */
export type BaseSource = 'flag' | 'merged-result' | 'merge-request' | 'previous-push' | 'default-branch';

/**
 * How base and head are compared. `merge-base`: the change since the two histories parted (`base...head`), so
 * what landed on the other side meanwhile is not blamed on this change. `tree`: the two trees as they are
 * (`base head`), used when base is not an ancestor of head (a force push) and whatever base had must be undone.
 */
export type Comparison = 'merge-base' | 'tree';

export interface CommitRange {
  /** Full SHA of the commit the change is compared with; undefined when it cannot be found even after fetching. */
  base: string | undefined;
  head: string;
  baseSource: BaseSource;
  /** For the job log: "CI_MERGE_REQUEST_DIFF_BASE_SHA 1a2b3c4" and the like. */
  baseDescription: string;
  comparison: Comparison;
  /**
   * The work tree's uncommitted changes count on top of head (a local run with uncommitted work): turbo and the
   * content keys read the files on disk, so the plan compares base with the work tree and says so.
   */
  workingTree?: boolean;
}

export interface CommitRangeOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  base?: string | undefined;
  head?: string | undefined;
  log: (line: string) => void;
}

interface BaseCandidate {
  rev: string;
  /** What `git fetch origin <fetchSpec>` needs to bring the base into a clone that lacks it. */
  fetchSpec: string;
  source: BaseSource;
  description: string;
}

// GitLab sets CI_COMMIT_BEFORE_SHA to forty zeros for a branch's first push, tags, and manual or scheduled runs.
const NO_PREVIOUS_PUSH = /^0+$/;
// Deepening in steps keeps the usual case (a base a few commits back) cheap; unshallowing is the last resort.
const DEEPEN_STEPS = [50, 500];

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/** Shows a rejected value safely in one line: quoted, control characters escaped, long values cut. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * Reads one of GitLab's CI_*_SHA variables (https://docs.gitlab.com/ci/variables/predefined_variables/): unset or
 * blank is undefined, anything else must be a full hex SHA once trimmed. The value is never handed to git unchecked.
 */
export function readShaVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) return undefined;
  const normalised = value.toLowerCase();
  if (!isFullSha(normalised)) {
    throw new Error(`${name} must be a full commit SHA (40 or 64 hex digits), got ${quoted(value)}`);
  }
  return normalised;
}

/** CI_DEFAULT_BRANCH, or a flag: a ref name, checked like any revision (no leading dash, no whitespace). */
function readRevision(value: string | undefined, what: string): string | undefined {
  const present = nonEmpty(value);
  if (present === undefined) return undefined;
  return normaliseRevision(present, what);
}

async function defaultBranchName(cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const fromCi = readRevision(env.CI_DEFAULT_BRANCH, 'CI_DEFAULT_BRANCH');
  if (fromCi) return fromCi;
  const originHead = await tryGit(cwd, ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']);
  if (originHead?.startsWith('origin/')) return originHead.slice('origin/'.length);
  throw new Error(
    'cannot tell the default branch: CI_DEFAULT_BRANCH is unset and origin/HEAD is unknown; set CI_DEFAULT_BRANCH or pass --base',
  );
}

async function chooseBase(options: CommitRangeOptions): Promise<BaseCandidate> {
  const { env } = options;
  const flag = readRevision(options.base, '--base');
  if (flag) return { rev: flag, fetchSpec: flag, source: 'flag', description: `--base ${flag}` };
  // In a merged-results pipeline CI_COMMIT_SHA is a merge commit of the merge request into the target branch's head,
  // and this variable holds that head; it is empty in other merge request pipelines
  // (https://docs.gitlab.com/ci/variables/predefined_variables/, https://docs.gitlab.com/ci/pipelines/merged_results_pipelines/).
  // Comparing the merge commit with it shows exactly what the merge request adds, not what main gained meanwhile.
  const targetHead = readShaVariable(env, 'CI_MERGE_REQUEST_TARGET_BRANCH_SHA');
  if (targetHead) {
    return {
      rev: targetHead,
      fetchSpec: targetHead,
      source: 'merged-result',
      description: `merged results: CI_MERGE_REQUEST_TARGET_BRANCH_SHA ${targetHead.slice(0, 12)}`,
    };
  }
  const mergeRequestBase = readShaVariable(env, 'CI_MERGE_REQUEST_DIFF_BASE_SHA');
  if (mergeRequestBase) {
    return {
      rev: mergeRequestBase,
      fetchSpec: mergeRequestBase,
      source: 'merge-request',
      description: `CI_MERGE_REQUEST_DIFF_BASE_SHA ${mergeRequestBase.slice(0, 12)}`,
    };
  }
  const before = readShaVariable(env, 'CI_COMMIT_BEFORE_SHA');
  if (before && !NO_PREVIOUS_PUSH.test(before)) {
    return {
      rev: before,
      fetchSpec: before,
      source: 'previous-push',
      description: `CI_COMMIT_BEFORE_SHA ${before.slice(0, 12)}`,
    };
  }
  const branch = await defaultBranchName(options.cwd, env);
  const remoteRef = `refs/remotes/origin/${branch}`;
  return {
    rev: remoteRef,
    fetchSpec: `+refs/heads/${branch}:${remoteRef}`,
    source: 'default-branch',
    description: `merge base with the default branch origin/${branch}`,
  };
}

/**
 * Makes sure the clone holds enough history to compare `candidate` with `head`. CI clones are shallow
 * (GIT_DEPTH) and fetch only the pipeline's ref, and turbo treats an unreachable base as "everything changed".
 */
async function fetchHistoryFor(
  cwd: string,
  candidate: BaseCandidate,
  head: string,
  log: (line: string) => void,
) {
  const shallow = await isShallowRepository(cwd);
  if (!(await resolveCommit(cwd, candidate.rev))) {
    log(`fetching ${candidate.fetchSpec} from origin: the clone does not have it`);
    await tryGit(cwd, [
      'fetch',
      '--no-tags',
      ...(shallow ? ['--depth=50'] : []),
      '--end-of-options',
      'origin',
      candidate.fetchSpec,
    ]);
  }
  if (!shallow) return;
  for (const commits of DEEPEN_STEPS) {
    if (await mergeBase(cwd, candidate.rev, head)) return;
    log(`shallow clone: deepening history by ${commits} commits to reach the base`);
    const deepened = await tryGit(cwd, [
      'fetch',
      '--no-tags',
      `--deepen=${commits}`,
      '--end-of-options',
      'origin',
      head,
      candidate.fetchSpec,
    ]);
    if (deepened === undefined)
      await tryGit(cwd, ['fetch', '--no-tags', `--deepen=${commits}`, '--end-of-options', 'origin']);
  }
  if (await mergeBase(cwd, candidate.rev, head)) return;
  log('shallow clone: fetching the full history');
  await tryGit(cwd, ['fetch', '--no-tags', '--unshallow', '--end-of-options', 'origin']);
}

/** The head a plan looks at: --head, else CI_COMMIT_SHA, else HEAD; always a full SHA of a commit here. */
export async function resolveHead(
  cwd: string,
  env: NodeJS.ProcessEnv,
  head: string | undefined,
): Promise<string> {
  const headRev = readRevision(head, '--head') ?? readShaVariable(env, 'CI_COMMIT_SHA') ?? 'HEAD';
  const resolved = await resolveCommit(cwd, headRev);
  if (!resolved) throw new Error(`head commit "${headRev}" is not in this repository`);
  return resolved;
}

/**
 * The commits a plan compares: base from --base, else CI_MERGE_REQUEST_TARGET_BRANCH_SHA (merged results), else
 * CI_MERGE_REQUEST_DIFF_BASE_SHA, else CI_COMMIT_BEFORE_SHA (unless all zeros), else the merge base with the
 * default branch; head from --head, else CI_COMMIT_SHA, else HEAD. A previous push that is no longer an ancestor
 * of head (a force push) is compared tree to tree. Throws when a CI_*_SHA variable is not a SHA, or a flag
 * starts with "-" or holds whitespace.
 */
export async function resolveCommitRange(options: CommitRangeOptions): Promise<CommitRange> {
  const { cwd, env, log } = options;
  const head = await resolveHead(cwd, env, options.head);
  const candidate = await chooseBase(options);
  await fetchHistoryFor(cwd, candidate, head, log);
  const base = await resolveCommit(cwd, candidate.rev);
  if (!base && candidate.source === 'flag') {
    throw new Error(
      `--base ${candidate.rev} is not a commit in this repository, not even after fetching from origin`,
    );
  }
  const unknown = {
    base: undefined,
    head,
    baseSource: candidate.source,
    baseDescription: candidate.description,
    comparison: 'merge-base' as const,
  };
  if (!base) return unknown;
  const forkPoint = await mergeBase(cwd, base, head);
  if (candidate.source === 'previous-push' && !(await isAncestor(cwd, base, head))) {
    // A force push: what the previous push deployed is no longer on the branch and must be undone, so the trees
    // are compared as they are; the merge base would hide every change of the commits that were dropped.
    return {
      base,
      head,
      baseSource: candidate.source,
      baseDescription: `${candidate.description}, not an ancestor of HEAD (force push): tree to tree`,
      comparison: 'tree',
    };
  }
  if (!forkPoint) return unknown;
  if (candidate.source === 'default-branch') {
    // Comparing with the merge base, not the branch tip, ignores what landed on the default branch meanwhile.
    return { ...unknown, base: forkPoint };
  }
  return { ...unknown, base };
}

/**
 * A plan's head for the log and the child pipeline's comments: its SHA cut to 12 characters, followed by
 * " + working tree" when the plan includes the work tree's uncommitted changes (CommitRange.workingTree).
 */
export function describeHead(head: string, workingTree: boolean | undefined): string {
  return workingTree ? `${head.slice(0, 12)} + working tree` : head.slice(0, 12);
}
