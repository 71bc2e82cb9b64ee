// What every command shares: the flag parser's seconds, the masked output, and the one mapping from a thrown error to
// an exit code.
import { exitCodeFor } from '../src/cli';
import { CliUsageError, parseSeconds } from '../src/command-line/flags';
import { createCommandIo } from '../src/command-line/io';
import { UnmaskableValueError } from '../src/gitlab/setup-project';
import { startFakeGitlab } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';
import { REPOSITORY_ROOT } from './support/fixture-repository';
import { runSlipway } from './support/run-slipway';

const LINT_TEMPLATE = `${REPOSITORY_ROOT}/ci-templates/lint.yml`;

describe('parseSeconds', () => {
  it('reads a plain decimal number of seconds, and the fallback when the flag is absent', () => {
    expect(parseSeconds('timeout', '30', { fallback: 5 })).toBe(30);
    expect(parseSeconds('timeout', ' 0.5 ', { fallback: 5 })).toBe(0.5);
    expect(parseSeconds('timeout', undefined, { fallback: 5 })).toBe(5);
  });

  it.each(['soon', '', '-1', '1e3', '0x10', '5s', '.5', '1.'])('refuses %j', (raw) => {
    expect(() => parseSeconds('interval', raw, { fallback: 5 })).toThrow(
      new CliUsageError(`--interval must be a positive number of seconds, got "${raw}"`),
    );
    expect(() => parseSeconds('timeout', raw, { fallback: 5, zero: 'allowed' })).toThrow(
      new CliUsageError(`--timeout must be a number of seconds, got "${raw}"`),
    );
  });

  // A time limit of 0 means "look once, do not wait" (verify's documented sh twin accepts SLIPWAY_VERIFY_TIMEOUT=0);
  // a pause between attempts, or one request's budget, of 0 would spin or fail every request.
  it('accepts 0 only where the rule allows it', () => {
    expect(parseSeconds('timeout', '0', { fallback: 5, zero: 'allowed' })).toBe(0);
    expect(() => parseSeconds('interval', '0', { fallback: 5 })).toThrow(
      new CliUsageError('--interval must be greater than 0, got "0"'),
    );
    expect(() => parseSeconds('interval', '0.0', { fallback: 5, zero: 'refused' })).toThrow(CliUsageError);
  });

  it('refuses more than the maximum', () => {
    expect(parseSeconds('timeout', '600', { fallback: 5, max: 600 })).toBe(600);
    expect(() => parseSeconds('timeout', '601', { fallback: 5, max: 600 })).toThrow(
      new CliUsageError('--timeout must be at most 600 seconds, got "601"'),
    );
  });

  it('applies the same rule to every command: a time limit of 0 looks once, an interval of 0 is refused', async () => {
    const fake = await startFakeGitlab();
    try {
      fake.onPipelinePoll = (pipeline) => void (pipeline.status = 'running');
      const once = await runSlipwayGitlab(fake, ['run', '--ref', 'main', '--timeout', '0']);
      expect(once.exitCode).toBe(1);
      expect(once.stderr).toMatch(/gave up after 0s: pipeline .* is still running/);
      const gitlab = ['--project', '1'];
      for (const command of [
        ['gitlab', 'run', '--ref', 'main', ...gitlab],
        ['gitlab', 'promote', '--yes', ...gitlab],
        ['verify'],
      ]) {
        const refused = await runSlipway([
          ...command,
          ...(command[0] === 'verify'
            ? ['--url', 'http://127.0.0.1:9', '--expect-commit', 'a'.repeat(40)]
            : []),
          '--interval',
          '0',
        ]);
        expect(refused).toMatchObject({ exitCode: 2 });
        expect(refused.stderr).toContain('--interval must be greater than 0, got "0"');
      }
      const status = await runSlipway(['status', '--timeout', '0']);
      expect(status).toMatchObject({ exitCode: 2 });
      expect(status.stderr).toContain('--timeout must be greater than 0, got "0"');
    } finally {
      await fake.stop();
    }
  });
});

describe('the output of every command', () => {
  it('masks the credentials in the environment, whatever the command prints them in', async () => {
    const env = {
      GITLAB_TOKEN: 'glpat-token-in-env',
      CI_JOB_TOKEN: 'job-token-in-env',
      CI_REGISTRY_PASSWORD: 'registry-password-in-env',
      SLIPWAY_NOTIFY_WEBHOOK_URL: 'https://hooks.example/T0/B0/webhook-secret',
    };
    const runs = await Promise.all([
      runSlipway(['status', '--format', env.CI_JOB_TOKEN], { env }),
      runSlipway(['plan', '--format', env.CI_REGISTRY_PASSWORD], { env }),
      // The input's value is outside its regex, and the problem quotes it.
      runSlipway(
        ['templates', 'check', LINT_TEMPLATE, '--input', `job-prefix=${env.SLIPWAY_NOTIFY_WEBHOOK_URL}`],
        {
          env,
        },
      ),
      // One attempt at a closed port: it prints the URL it waits for, and fails with exit 5 (no answer).
      runSlipway(
        [
          'verify',
          '--url',
          `http://127.0.0.1:9/${env.GITLAB_TOKEN}`,
          ...['--expect-commit', 'a'.repeat(40)],
          '--timeout',
          '0',
        ],
        { env },
      ),
    ]);
    expect(runs.map((run) => run.exitCode)).toEqual([2, 2, 1, 5]);
    for (const run of runs) {
      expect(run.stderr).toContain('[masked]');
      for (const secret of Object.values(env)) expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it('masks a value added while the command runs, in every form it can take', () => {
    let written = '';
    const io = createCommandIo({
      env: {},
      cwd: '/',
      stdout: { write: (text: string) => (written += text) },
      stderr: { write: (text: string) => (written += text) },
      stdin: process.stdin,
    });
    const secret = 's3cr3t/"value"';
    io.stdout.write(`before: ${secret}\n`);
    io.mask([secret, undefined, '']);
    io.stdout.write(`raw ${secret}, encoded ${encodeURIComponent(secret)}\n`);
    io.stderr.write(`json ${JSON.stringify({ secret })}\n`);
    expect(written).toBe(`before: ${secret}\nraw [masked], encoded [masked]\njson {"secret":"[masked]"}\n`);
    expect(io.masked(`x ${secret}`)).toBe('x [masked]');
  });
});

describe('exitCodeFor', () => {
  it('is 2 for bad input (a flag, or a value GitLab cannot mask) and 1 for any other failure', () => {
    expect(exitCodeFor(new CliUsageError('--x'))).toBe(2);
    expect(exitCodeFor(new UnmaskableValueError('KEY cannot be a masked variable'))).toBe(2);
    expect(exitCodeFor(new Error('git failed'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
  });
});
