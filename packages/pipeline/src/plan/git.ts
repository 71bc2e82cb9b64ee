import { execFile } from 'node:child_process';

/** Runs git in `cwd` and returns its trimmed stdout; a failure carries git's own stderr, which names the problem. */
export function runGit(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(stdout.trim());
    });
  });
}

/** Like runGit, but an expected failure (unknown commit, no merge base) yields undefined instead of an error. */
export async function tryGit(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    return await runGit(cwd, args);
  } catch {
    return undefined;
  }
}

export async function resolveCommit(cwd: string, rev: string): Promise<string | undefined> {
  return tryGit(cwd, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
}

export async function isShallowRepository(cwd: string): Promise<boolean> {
  return (await runGit(cwd, ['rev-parse', '--is-shallow-repository'])) === 'true';
}

/** Files changed between the merge base of `base` and `head`, and `head`: the same range turbo compares. */
export async function listChangedFiles(cwd: string, base: string, head: string): Promise<string[]> {
  const output = await runGit(cwd, ['diff', '--name-only', '--no-renames', `${base}...${head}`]);
  return output === '' ? [] : output.split('\n');
}
