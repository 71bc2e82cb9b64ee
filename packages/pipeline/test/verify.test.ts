import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseVerifyOptions, run } from '../src/commands/verify';
import { CliUsageError } from '../src/command-line/flags';
import { verifyDeployment, VERIFY_EXIT, type VerifyOptions } from '../src/verify/verify-deployment';
import {
  SMOKE_PATH,
  startFakeDeployment,
  unusedLoopbackUrl,
  type DeploymentScenario,
  type FakeDeployment,
} from './support/fake-deployment';
import { REPOSITORY_ROOT } from './support/fixture-repository';

const COMMIT = 'a'.repeat(40);
const OTHER_COMMIT = 'b'.repeat(40);

function options(url: string, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    baseUrl: new URL(url),
    expectCommit: COMMIT,
    timeoutSeconds: 1,
    intervalSeconds: 0.1,
    ...overrides,
  };
}

describe('verifyDeployment', () => {
  let deployment: FakeDeployment | undefined;
  afterEach(async () => {
    await deployment?.close();
    deployment = undefined;
  });

  it('passes when health is pass and the commit matches, and reports each attempt', async () => {
    deployment = await startFakeDeployment({ healthStatus: () => 'pass', commit: COMMIT });
    const lines: string[] = [];
    const result = await verifyDeployment(options(deployment.url, { smokePath: SMOKE_PATH }), (l) =>
      lines.push(l),
    );
    expect(result).toMatchObject({ outcome: 'ok', exitCode: 0, attempts: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/attempt 1: health=pass commit=a{40}$/);
  });

  it('keeps polling until the deployment becomes healthy', async () => {
    deployment = await startFakeDeployment({
      healthStatus: (n) => (n < 3 ? 'fail' : 'pass'),
      commit: COMMIT,
    });
    const lines: string[] = [];
    const result = await verifyDeployment(options(deployment.url, { timeoutSeconds: 30 }), (l) =>
      lines.push(l),
    );
    expect(result.outcome).toBe('ok');
    expect(result.attempts).toBe(3);
    expect(lines[0]).toContain('health=fail commit=-');
  });

  it('accepts an upper-case expected SHA', async () => {
    deployment = await startFakeDeployment({
      healthStatus: () => 'pass',
      commit: 'abcdef'.repeat(6) + 'abcd',
    });
    const result = await verifyDeployment(
      options(deployment.url, { expectCommit: 'ABCDEF'.repeat(6) + 'ABCD' }),
      () => undefined,
    );
    expect(result.outcome).toBe('ok');
  });

  it.each<[string, DeploymentScenario, number, RegExp]>([
    ['unhealthy', { healthStatus: () => 'fail', commit: COMMIT }, VERIFY_EXIT.unhealthy, /health is "fail"/],
    [
      'wrong version',
      { healthStatus: () => 'pass', commit: OTHER_COMMIT },
      VERIFY_EXIT.wrongVersion,
      /serving commit b{40}/,
    ],
    [
      'smoke failure',
      { healthStatus: () => 'pass', commit: COMMIT, smokeStatus: 500 },
      VERIFY_EXIT.smokeFailed,
      /HTTP 500/,
    ],
  ])('exits with the %s code', async (_name, scenario, exitCode, message) => {
    deployment = await startFakeDeployment(scenario);
    const result = await verifyDeployment(
      options(deployment.url, { smokePath: SMOKE_PATH }),
      () => undefined,
    );
    expect(result.exitCode).toBe(exitCode);
    expect(result.message).toMatch(message);
  });

  it('times out when nothing answers', async () => {
    const result = await verifyDeployment(options(await unusedLoopbackUrl()), () => undefined);
    expect(result).toMatchObject({ outcome: 'timeout', exitCode: VERIFY_EXIT.timeout });
    expect(result.attempts).toBeGreaterThanOrEqual(1);
    expect(result.message).toMatch(/\/health never answered/);
  });

  it('resolves endpoints under a base path', async () => {
    deployment = await startFakeDeployment({ healthStatus: () => 'pass', commit: COMMIT });
    // The fake answers only at the root, so a base path must change which URL is polled.
    const result = await verifyDeployment(options(`${deployment.url}/svc/`), () => undefined);
    expect(result.outcome).toBe('unhealthy');
    expect(result.message).toContain('HTTP 404');
  });
});

describe('slipway verify flags', () => {
  const valid = ['--url', 'http://127.0.0.1:8080', '--expect-commit', COMMIT];

  it('parses valid flags with defaults', () => {
    expect(parseVerifyOptions(valid)).toMatchObject({
      expectCommit: COMMIT,
      timeoutSeconds: 120,
      intervalSeconds: 2,
    });
  });

  it.each([
    [['--expect-commit', COMMIT], /--url is required/],
    [['--url', 'http://x'], /--expect-commit or --expect-content-key is required/],
    // A content key has one shape (src/plan/content-key.ts): anything else could never be served.
    [['--url', 'http://x', '--expect-content-key', 'a b'], /--expect-content-key must be a content key/],
    [
      ['--url', 'http://x', '--expect-content-key', 'zz'],
      /--expect-content-key must be a content key, 16 to 64 lowercase hex digits .*, got "zz"/,
    ],
    [['--url', 'http://x', '--expect-content-key', 'abc123'], /must be a content key/],
    [['--url', 'http://x', '--expect-content-key', '3F9A2C7D1E0B4A65'], /must be a content key/],
    [['--url', 'http://x', '--expect-content-key', 'a'.repeat(65)], /must be a content key/],
    [['--url', 'http://x', '--expect-content-key', 'v1.2:3f9a2c7d1e0b4a65'], /must be a content key/],
    [[...valid, '--smoke', '/\\evil.example/x'], /--smoke must be a path on --url's origin/],
    [[...valid, '--smoke', '/a b'], /--smoke must be a path on --url's origin/],
    [['--url', 'not a url', '--expect-commit', COMMIT], /--url "not a url" is not a valid URL/],
    [['--url', 'ftp://x', '--expect-commit', COMMIT], /--url must be http or https/],
    [['--url', 'http://x', '--expect-commit', 'abc123'], /40-hex commit SHA, got "abc123"/],
    [[...valid, '--timeout', 'soon'], /--timeout must be a number of seconds, got "soon"/],
    [[...valid, '--interval', '0'], /--interval must be greater than 0/],
    [[...valid, '--smoke', 'weather'], /--smoke must be a path starting with "\/"/],
    [[...valid, '--verbose'], /Unknown option '--verbose'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseVerifyOptions(argv)).toThrow(CliUsageError);
    expect(() => parseVerifyOptions(argv)).toThrow(message);
  });

  it('refuses a URL with credentials without printing the password', () => {
    for (const url of ['https://me:hunter2@staging.example.com', 'http://me:hunter2@[bad']) {
      expect(() => parseVerifyOptions(['--url', url, '--expect-commit', COMMIT])).toThrow(
        new CliUsageError('--url must not contain a user name or password'),
      );
    }
  });

  it('accepts a content key alone (an image an earlier commit built serves the same content)', () => {
    for (const key of ['3f9a2c7d1e0b4a65', 'c0ffee'.padEnd(64, '0')]) {
      expect(parseVerifyOptions(['--url', 'http://x', '--expect-content-key', key])).toMatchObject({
        expectContentKey: key,
      });
    }
  });

  it("gives a --smoke example that the weather-app's own deploy verifies with", async () => {
    let usage = '';
    const out = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk) => ((usage += String(chunk)), true));
    try {
      expect(await run(['--help'])).toBe(0);
    } finally {
      out.mockRestore();
    }
    const appPipeline = readFileSync(path.join(REPOSITORY_ROOT, 'apps/weather-app/.gitlab-ci.yml'), 'utf8');
    const smokePaths = [...appPipeline.matchAll(/smoke-path: (\S+)/g)].map((m) => m[1]);
    const example = /--smoke PATH .*e\.g\. (\S+)/.exec(usage)?.[1];
    expect(smokePaths).toContain(example);
  });

  // --timeout 0 looks once: the look gets a request budget of its own, so a healthy deployment passes and any other
  // is reported as what it answered, not as "never answered".
  describe('--timeout 0', () => {
    let deployment: FakeDeployment | undefined;
    afterEach(async () => {
      await deployment?.close();
      deployment = undefined;
    });

    async function runCaptured(argv: string[]) {
      let stdout = '';
      let stderr = '';
      const out = jest
        .spyOn(process.stdout, 'write')
        .mockImplementation((c) => ((stdout += String(c)), true));
      const err = jest
        .spyOn(process.stderr, 'write')
        .mockImplementation((c) => ((stderr += String(c)), true));
      try {
        return { code: await run(argv), stdout, stderr };
      } finally {
        out.mockRestore();
        err.mockRestore();
      }
    }

    it('passes a healthy deployment that serves the expected commit and content key, in one attempt', async () => {
      deployment = await startFakeDeployment({
        healthStatus: () => 'pass',
        commit: COMMIT,
        contentKey: '3f9a2c7d1e0b4a65',
      });
      const argv = ['--url', deployment.url, '--expect-commit', COMMIT, '--timeout', '0'];
      const result = await runCaptured([...argv, '--expect-content-key', '3f9a2c7d1e0b4a65']);
      expect(result).toMatchObject({ code: VERIFY_EXIT.ok, stderr: '' });
      expect(result.stdout).toMatch(/^verify: looking once whether http:\/\/127\.0\.0\.1:\d+\/ serves /);
      expect(result.stdout).toMatch(/attempt 1: health=pass/);
      expect(result.stdout).not.toMatch(/attempt 2/);
      expect(deployment.healthRequests()).toBe(1);
    });

    it.each<[string, DeploymentScenario, number, RegExp]>([
      [
        'unhealthy',
        { healthStatus: () => 'fail', commit: COMMIT },
        VERIFY_EXIT.unhealthy,
        /health is "fail"/,
      ],
      [
        'another commit',
        { healthStatus: () => 'pass', commit: OTHER_COMMIT },
        VERIFY_EXIT.wrongVersion,
        /serving commit b{40}, expected a{40}, after 0s and 1 attempt/,
      ],
    ])('reports what it saw of a deployment %s', async (_name, scenario, code, message) => {
      deployment = await startFakeDeployment(scenario);
      const result = await runCaptured([
        '--url',
        deployment.url,
        '--expect-commit',
        COMMIT,
        '--timeout',
        '0',
      ]);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(deployment.healthRequests()).toBe(1);
    });
  });

  it('returns the verify exit code from run()', async () => {
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const code = await run([
        '--url',
        await unusedLoopbackUrl(),
        '--expect-commit',
        COMMIT,
        '--timeout',
        '0',
      ]);
      expect(code).toBe(VERIFY_EXIT.timeout);
      expect(write.mock.calls.join('')).toMatch(/verify: FAILED: .*never answered.*\(exit 5\)/);
    } finally {
      write.mockRestore();
      out.mockRestore();
    }
  });
});
