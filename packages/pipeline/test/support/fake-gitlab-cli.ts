// Runs `slipway gitlab ...` in-process against a FakeGitlab through the CLI's own entry (main), capturing what it
// prints and the exit code it would end with.
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli';
import type { FakeGitlab } from './fake-gitlab';

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Lines typed at a terminal; when set, stdin claims to be a TTY. */
  typed?: string;
  stdoutIsTTY?: boolean;
}

export async function runSlipwayGitlab(
  fake: FakeGitlab,
  argv: string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const stdin = Object.assign(new PassThrough(), { isTTY: options.typed !== undefined });
  if (options.typed !== undefined) stdin.end(options.typed);
  else stdin.end();
  const exitCode = await main(['gitlab', ...argv], {
    env: {
      GITLAB_HOST: fake.url,
      GITLAB_TOKEN: fake.token,
      CI_PROJECT_PATH: fake.project.path_with_namespace,
      ...options.env,
    },
    cwd: options.cwd ?? process.cwd(),
    stdout: { write: (text: string) => (stdout += text), isTTY: options.stdoutIsTTY ?? false },
    stderr: { write: (text: string) => (stderr += text) },
    stdin,
    // Rate-limit waits are reported but not slept through: the tests assert what is said, never how long.
    sleep: { rateLimit: () => Promise.resolve() },
  });
  return { exitCode, stdout, stderr };
}
