import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The monorepo this test suite belongs to. */
export const REPOSITORY_ROOT = resolve(__dirname, '../../../..');

const COMMITTER = [
  '-c',
  'user.name=Slipway Test',
  '-c',
  'user.email=test@slipway.invalid',
  '-c',
  'commit.gpgsign=false',
];

export function git(cwd: string, args: string[]): string {
  return execFileSync('git', [...COMMITTER, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `slipway-${prefix}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Copies this repository's tracked files (as they are on disk) into `target`. */
export function copyTrackedFiles(target: string): void {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '');
  for (const file of files) {
    const source = join(REPOSITORY_ROOT, file);
    if (!existsSync(source)) continue; // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(target, file)), { recursive: true });
    copyFileSync(source, join(target, file));
  }
}

export function writeFile(repo: string, file: string, content: string): void {
  mkdirSync(dirname(join(repo, file)), { recursive: true });
  writeFileSync(join(repo, file), content);
}

export function appendToFile(repo: string, file: string, content: string): void {
  const path = join(repo, file);
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
  writeFile(repo, file, before + content);
}

export function commitAll(repo: string, message: string): string {
  git(repo, ['add', '--all']);
  git(repo, ['commit', '--quiet', '--no-verify', '-m', message]);
  return git(repo, ['rev-parse', 'HEAD']);
}

/**
 * Removes every workspace under `apps/` but `apps` (names of directories under apps/) from the copy in `repo`,
 * and its entries in package-lock.json (the workspace itself, its nested node_modules, and the
 * node_modules/... link to it), so the lockfile still describes the workspaces that exist. Packages only a
 * removed app used stay in the lockfile, unreferenced, as npm leaves them until the next `npm install`.
 * Lets a fixture say which apps it has, whatever apps this checkout gains.
 */
export function keepOnlyApps(repo: string, apps: readonly string[]): void {
  const removed = readdirSync(join(repo, 'apps'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !apps.includes(entry.name))
    .map((entry) => `apps/${entry.name}`);
  for (const app of apps) {
    if (!existsSync(join(repo, 'apps', app))) throw new Error(`keepOnlyApps: apps/${app} is not in ${repo}`);
  }
  if (removed.length === 0) return;
  for (const dir of removed) rmSync(join(repo, dir), { recursive: true, force: true });
  const lockfilePath = join(repo, 'package-lock.json');
  const lockfile = JSON.parse(readFileSync(lockfilePath, 'utf8')) as {
    packages: Record<string, { resolved?: string; link?: boolean }>;
  };
  for (const [path, entry] of Object.entries(lockfile.packages)) {
    const isRemoved = (dir: string) =>
      path === dir || path.startsWith(`${dir}/`) || (entry.link === true && entry.resolved === dir);
    if (removed.some(isRemoved)) delete lockfile.packages[path];
  }
  writeFileSync(lockfilePath, `${JSON.stringify(lockfile, null, 2)}\n`);
}

/**
 * A git repository holding this monorepo's tracked files, committed on `main`, with a remote named origin
 * (gitlab-ci-local needs one). `remoteUrl` defaults to a GitLab-like URL that is never contacted. With
 * `options.apps`, only those apps (directory names under apps/) are kept: see keepOnlyApps.
 */
export function createRepositoryFromCheckout(
  dir: string,
  remoteUrl = 'https://gitlab.slipway.invalid/slipway/slipway.git',
  options: { apps?: readonly string[] } = {},
): string {
  copyTrackedFiles(dir);
  if (options.apps) keepOnlyApps(dir, options.apps);
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['remote', 'add', 'origin', remoteUrl]);
  return commitAll(dir, 'chore: import the slipway checkout');
}
