import { isShallowRepository, resolveCommit, runGit, tryGit } from './git';

/** Where the base commit came from, in the order the planner tries them. */
export type BaseSource = 'flag' | 'merge-request' | 'previous-push' | 'default-branch';

export interface CommitRange {
  /** Full SHA of the commit the change is compared with; undefined when it cannot be found even after fetching. */
  base: string | undefined;
  head: string;
  baseSource: BaseSource;
  /** For the job log: "CI_MERGE_REQUEST_DIFF_BASE_SHA 1a2b3c4" and the like. */
  baseDescription: string;
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

async function defaultBranchName(cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const fromCi = nonEmpty(env.CI_DEFAULT_BRANCH);
  if (fromCi) return fromCi;
  const originHead = await tryGit(cwd, ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']);
  if (originHead?.startsWith('origin/')) return originHead.slice('origin/'.length);
  throw new Error(
    'cannot tell the default branch: CI_DEFAULT_BRANCH is unset and origin/HEAD is unknown; set CI_DEFAULT_BRANCH or pass --base',
  );
}

async function chooseBase(options: CommitRangeOptions): Promise<BaseCandidate> {
  const { env } = options;
  const flag = nonEmpty(options.base);
  if (flag) return { rev: flag, fetchSpec: flag, source: 'flag', description: `--base ${flag}` };
  const mergeRequestBase = nonEmpty(env.CI_MERGE_REQUEST_DIFF_BASE_SHA);
  if (mergeRequestBase) {
    return {
      rev: mergeRequestBase,
      fetchSpec: mergeRequestBase,
      source: 'merge-request',
      description: `CI_MERGE_REQUEST_DIFF_BASE_SHA ${mergeRequestBase.slice(0, 12)}`,
    };
  }
  const before = nonEmpty(env.CI_COMMIT_BEFORE_SHA);
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

function mergeBase(cwd: string, a: string, b: string): Promise<string | undefined> {
  return tryGit(cwd, ['merge-base', a, b]);
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
      'origin',
      head,
      candidate.fetchSpec,
    ]);
    if (deepened === undefined) await tryGit(cwd, ['fetch', '--no-tags', `--deepen=${commits}`, 'origin']);
  }
  if (await mergeBase(cwd, candidate.rev, head)) return;
  log('shallow clone: fetching the full history');
  await tryGit(cwd, ['fetch', '--no-tags', '--unshallow', 'origin']);
}

/**
 * The commits a plan compares: base from --base, else CI_MERGE_REQUEST_DIFF_BASE_SHA, else CI_COMMIT_BEFORE_SHA
 * (unless all zeros), else the merge base with the default branch; head from --head, else CI_COMMIT_SHA, else HEAD.
 */
export async function resolveCommitRange(options: CommitRangeOptions): Promise<CommitRange> {
  const { cwd, env, log } = options;
  const headRev = nonEmpty(options.head) ?? nonEmpty(env.CI_COMMIT_SHA) ?? 'HEAD';
  const head = await resolveCommit(cwd, headRev);
  if (!head) throw new Error(`head commit "${headRev}" is not in this repository`);

  const candidate = await chooseBase(options);
  await fetchHistoryFor(cwd, candidate, head, log);
  const base = await resolveCommit(cwd, candidate.rev);
  if (!base && candidate.source === 'flag') {
    throw new Error(
      `--base ${candidate.rev} is not a commit in this repository, not even after fetching from origin`,
    );
  }
  if (!base || !(await mergeBase(cwd, base, head))) {
    return { base: undefined, head, baseSource: candidate.source, baseDescription: candidate.description };
  }
  if (candidate.source === 'default-branch') {
    // Comparing with the merge base, not the branch tip, ignores what landed on the default branch meanwhile.
    const forkPoint = await runGit(cwd, ['merge-base', base, head]);
    return { base: forkPoint, head, baseSource: candidate.source, baseDescription: candidate.description };
  }
  return { base, head, baseSource: candidate.source, baseDescription: candidate.description };
}
