// Runs any `slipway` command in-process through the CLI's own entry (main), with its own environment and working
// directory, capturing what it prints and the exit code it would end with.
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli';

export interface SlipwayRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runSlipway(
  argv: string[],
  { env = {}, cwd = process.cwd() }: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<SlipwayRun> {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough();
  stdin.end();
  const exitCode = await main(argv, {
    env,
    cwd,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin,
  });
  return { exitCode, stdout, stderr };
}
