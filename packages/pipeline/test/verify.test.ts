import { parseVerifyOptions, run } from '../src/commands/verify';
import { CliUsageError } from '../src/cli-errors';
import { verifyDeployment, VERIFY_EXIT, type VerifyOptions } from '../src/verify/verify-deployment';
import {
  SMOKE_PATH,
  startFakeDeployment,
  unusedLoopbackUrl,
  type DeploymentScenario,
  type FakeDeployment,
} from './support/fake-deployment';

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
    [['--url', 'http://x'], /--expect-commit is required/],
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
