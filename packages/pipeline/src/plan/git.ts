import { execFile } from 'node:child_process';

/**
 * Runs git in `cwd` and returns its stdout untouched; a failure carries git's own stderr, which names the problem.
 * Every caller that passes a revision puts `--end-of-options` before it, so a value such as
 * "--upload-pack=touch pwned" can only ever be read as a revision, never as an option (git 2.24+, gitcli(7)).
 */
function runGitRaw(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** Runs git in `cwd` and returns its trimmed stdout. */
export async function runGit(cwd: string, args: string[]): Promise<string> {
  return (await runGitRaw(cwd, args)).trim();
}

/** Like runGit, but an expected failure (unknown commit, no merge base) yields undefined instead of an error. */
export async function tryGit(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return await runGit(cwd, args);
  } catch {
    return undefined;
  }
}

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** A full SHA-1 or SHA-256 object name, lowercase: what GitLab's CI_*_SHA variables hold. */
export function isFullSha(value: string): boolean {
  return FULL_SHA.test(value);
}

/**
 * Checks a revision given by a person (`--base`, `--head`): a SHA, a ref name or an expression such as HEAD~1.
 * It is checked after trimming, the form git sees: never a leading dash (it would read as an option), and no
 * whitespace or control characters, which no ref name may hold (git-check-ref-format(1)).
 * Returns the normalised value; throws an Error naming `what` otherwise.
 */
export function normaliseRevision(value: string, what: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new Error(`${what} is empty`);
  const shown = JSON.stringify(trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed);
  if (trimmed.startsWith('-')) throw new Error(`${what} must be a commit, not an option: ${shown}`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(trimmed))
    throw new Error(`${what} must be a commit or ref name without whitespace: ${shown}`);
  return trimmed;
}

export async function resolveCommit(cwd: string, rev: string): Promise<string | undefined> {
  return tryGit(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
}

export async function isShallowRepository(cwd: string): Promise<boolean> {
  return (await runGit(cwd, ['rev-parse', '--is-shallow-repository'])) === 'true';
}

export function mergeBase(cwd: string, a: string, b: string): Promise<string | undefined> {
  return tryGit(cwd, ['merge-base', '--end-of-options', a, b]);
}

/** Whether `ancestor` is reachable from `head` (false after a force push replaced it). */
export async function isAncestor(cwd: string, ancestor: string, head: string): Promise<boolean> {
  return (
    (await tryGit(cwd, ['merge-base', '--is-ancestor', '--end-of-options', ancestor, head])) !== undefined
  );
}

/**
 * Whether the work tree differs from HEAD: staged or unstaged changes, or untracked files git does not ignore.
 * turbo hashes and compares the files on disk, so such work counts in a plan made here.
 */
export async function hasUncommittedChanges(cwd: string): Promise<boolean> {
  return (await runGitRaw(cwd, ['status', '--porcelain', '-z', '--untracked-files=normal'])) !== '';
}

/**
 * Files changed from `base` to `head`. `merge-base` compares the merge base of the two with head (`base...head`,
 * what turbo compares); `tree` compares the two trees directly (`base head`), which is what a force push needs.
 * With `workingTree` (head is the checked-out HEAD), the work tree stands in for head: its uncommitted changes and
 * untracked files that are not ignored count too, as they do for turbo.
 * Paths are read NUL-separated with -z, so git neither C-quotes nor escapes them (git-diff(1), core.quotePath).
 */
export async function listChangedFiles(
  cwd: string,
  base: string,
  head: string,
  comparison: 'merge-base' | 'tree' = 'merge-base',
  workingTree = false,
): Promise<string[]> {
  const from = comparison === 'tree' ? base : ((await mergeBase(cwd, base, head)) ?? base);
  const revisions = workingTree ? [from] : comparison === 'tree' ? [base, head] : [`${base}...${head}`];
  const output = await runGitRaw(cwd, [
    'diff',
    '--name-only',
    '-z',
    '--no-renames',
    '--end-of-options',
    ...revisions,
  ]);
  const untracked = workingTree
    ? await runGitRaw(cwd, ['ls-files', '-z', '--others', '--exclude-standard'])
    : '';
  return [...new Set(`${output}\0${untracked}`.split('\0').filter((file) => file !== ''))];
}
