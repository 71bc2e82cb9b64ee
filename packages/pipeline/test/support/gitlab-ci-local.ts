// Runs the gitlab-ci-local this repository pins (packages/pipeline devDependency) against a directory, always with
// GitLab's JSON schema validation, and returns what it printed. Also makes the throwaway git repositories it needs
// (gitlab-ci-local reads the remote named origin and origin/HEAD for CI_PROJECT_* and CI_DEFAULT_BRANCH).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { commitAll, git, makeTempDir, REPOSITORY_ROOT, writeFile } from './fixture-repository';

export const GITLAB_CI_LOCAL = path.join(REPOSITORY_ROOT, 'node_modules', '.bin', 'gitlab-ci-local');

export interface GitlabCiLocalOptions {
  /** The repository to run in (a git work tree with an origin remote). */
  cwd: string;
  /** Pipeline file relative to cwd; gitlab-ci-local's default is .gitlab-ci.yml. */
  file?: string;
  /** What to do: ['--list-json'], ['--preview'], ['job-name'], ... */
  args: string[];
  /** Pipeline variables, passed as --variable NAME=VALUE. */
  variables?: Record<string, string>;
  /** Extra environment for the gitlab-ci-local process itself. */
  env?: Record<string, string>;
  /** Kills gitlab-ci-local after this long (default 5 minutes); a killed run resolves with code -1. */
  timeoutMs?: number;
  /**
   * Collect stdout through a file instead of a pipe. gitlab-ci-local exits with process.exit(), which can cut a long
   * piped output short (a --preview of a few hundred KB); a file is written synchronously and never is.
   */
  stdoutThroughFile?: boolean;
}

export interface GitlabCiLocalResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runGitlabCiLocal(options: GitlabCiLocalOptions): Promise<GitlabCiLocalResult> {
  const args = [
    '--no-color',
    '--json-schema-validation',
    // Its own home, so nobody's ~/.gitlab-ci-local/variables.yml leaks into a test.
    '--home',
    path.join(options.cwd, '.gitlab-ci-local-home'),
    ...(options.file ? ['--file', options.file] : []),
    ...Object.entries(options.variables ?? {}).flatMap(([name, value]) => ['--variable', `${name}=${value}`]),
    ...options.args,
  ];
  const outputDir = options.stdoutThroughFile ? makeTempDir('gcl-stdout') : undefined;
  const outputFile = outputDir && path.join(outputDir, 'stdout');
  const outputFd = outputFile ? openSync(outputFile, 'w') : undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(GITLAB_CI_LOCAL, args, {
      cwd: options.cwd,
      env: {
        ...process.env,
        // gitlab-ci-local 4.75 needs Node 22+; the repository's Node 24 sits next to it in node_modules/.bin.
        PATH: `${path.dirname(GITLAB_CI_LOCAL)}${path.delimiter}${process.env.PATH ?? ''}`,
        ...options.env,
      },
      stdio: ['ignore', outputFd ?? 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (outputFd !== undefined && outputFile) {
        closeSync(outputFd);
        stdout = readFileSync(outputFile, 'utf8');
        rmSync(outputDir!, { recursive: true, force: true });
      }
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * A temp git repository holding `files`, committed on `main`, with an origin remote and origin/HEAD -> main (so
 * CI_DEFAULT_BRANCH is main, as on GitLab). Returns its path; the caller removes it.
 */
export function createGitRepo(
  files: Record<string, string>,
  remoteUrl = 'https://gitlab.slipway.invalid/slipway/consumer.git',
): string {
  const dir = makeTempDir('gcl');
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['remote', 'add', 'origin', remoteUrl]);
  for (const [file, content] of Object.entries(files)) writeFile(dir, file, content);
  writeFile(dir, '.gitignore', '.gitlab-ci-local/\n.gitlab-ci-local-home/\n');
  commitAll(dir, 'chore: fixture');
  git(dir, ['update-ref', 'refs/remotes/origin/main', 'HEAD']);
  git(dir, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
  return dir;
}

/** One job of `gitlab-ci-local --list-json`. */
export interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs?: Array<{ job: string; artifacts?: boolean; optional?: boolean }> | null;
  rules?: Array<Record<string, unknown>>;
}

/** Parses `--list-json` output; throws with the whole output when it is not the JSON list. */
export function parseListJson(result: GitlabCiLocalResult): ListedJob[] {
  // Warnings (such as "Avoid overriding predefined variables [...]") may come first; the list starts on its own line.
  const start = result.stdout.search(/^\[/m);
  try {
    return JSON.parse(result.stdout.slice(start)) as ListedJob[];
  } catch {
    throw new Error(
      `gitlab-ci-local --list-json printed no job list (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}
