// Runs `slipway gitlab ...` in-process against a FakeGitlab, capturing what it prints.
import { PassThrough } from 'node:stream';
import { runGitlabCommand } from '../../src/commands/gitlab';
import { CliUsageError } from '../../src/cli-errors';
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
  try {
    const exitCode = await runGitlabCommand(argv, {
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
      retryPolicy: { onWait: (message) => (stderr += `${message}\n`), sleep: () => Promise.resolve() },
    });
    return { exitCode, stdout, stderr };
  } catch (error) {
    // The CLI entry prints usage errors and exits 2; mirror that here.
    if (error instanceof CliUsageError) return { exitCode: 2, stdout, stderr: `${stderr}${error.message}\n` };
    throw error;
  }
}
