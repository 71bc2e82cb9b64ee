// The deploy template verifies with a POSIX-sh twin of `slipway verify` (it cannot assume Node in the deploy image).
// This runs the TypeScript verifier and the sh twin with curl, with GNU wget only and with busybox wget only,
// against the same loopback scenarios and requires the same exit codes.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  run as runVerifyCommand,
} from '../src/commands/verify';
import { VERIFY_EXIT } from '../src/verify/verify-deployment';
import {
  SMOKE_PATH,
  startFakeDeployment,
  unusedLoopbackUrl,
  type DeploymentScenario,
  type FakeDeployment,
} from './support/fake-deployment';
import { makeTempDir, removeDir } from './support/fixture-repository';

const DEPLOY_TEMPLATE = path.resolve(__dirname, '../../../ci-templates/deploy.yml');
const VERIFY_JOB = '.slipway-deploy-verify';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const CONTENT_KEY = '3f9a2c7d1e0b4a65';

/** The single literal-block `script` element of `.slipway-deploy-verify` (deploy.yml: spec document, ---, jobs). */
function extractShellVerifyScript(): string {
  const documents = parseAllDocuments(readFileSync(DEPLOY_TEMPLATE, 'utf8'));
  const jobs = documents.at(-1)?.toJS() as Record<string, { script?: unknown }> | undefined;
  const script = jobs?.[VERIFY_JOB]?.script;
  if (!Array.isArray(script) || script.length !== 1 || typeof script[0] !== 'string') {
    throw new Error(`${DEPLOY_TEMPLATE}: ${VERIFY_JOB}.script must be a list with exactly one literal block`);
  }
  return script[0];
}

interface VerifyRun {
  url: string;
  timeout: number;
  interval: number;
  expectCommit?: string;
  expectContentKey?: string;
  smoke?: string;
}

interface VerifyOutcome {
  code: number;
  output: string;
}

type ShellClient = 'curl' | 'GNU wget' | 'busybox wget';

/**
 * PATHs with the verifier's tools but no curl: busybox-like hosts and Alpine images have only wget, and there it
 * is busybox's applet, which follows redirects and has no option against it (Debian's busybox package provides it
 * here; .ci/run installs it).
 */
const pathWithout: Partial<Record<ShellClient, string>> = {};
beforeAll(() => {
  const tools = ['sh', 'rm', 'mktemp', 'tr', 'sed', 'date', 'awk', 'sleep', 'wget', 'grep', 'tail', 'cat'];
  for (const client of ['GNU wget', 'busybox wget'] as const) {
    const dir = makeTempDir('verify-no-curl');
    pathWithout[client] = dir;
    for (const tool of tools) {
      const fromBusybox = client === 'busybox wget' && tool === 'wget';
      const candidates = fromBusybox
        ? ['/usr/bin/busybox', '/bin/busybox']
        : ['/usr/bin', '/bin'].map((d) => path.join(d, tool));
      const found = candidates.find((file) => existsSync(file));
      if (!found) throw new Error(`${fromBusybox ? 'busybox' : tool} is not installed (apt-get install it)`);
      symlinkSync(found, path.join(dir, tool));
    }
  }
});
afterAll(() => Object.values(pathWithout).forEach((dir) => removeDir(dir)));

function runShellTwin(
  script: string,
  client: ShellClient,
  { url, timeout, interval, expectCommit, expectContentKey, smoke = SMOKE_PATH }: VerifyRun,
): Promise<VerifyOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], {
      env: {
        PATH: client === 'curl' ? process.env.PATH : pathWithout[client],
        SLIPWAY_VERIFY_URL: url,
        ...(expectCommit !== undefined && { SLIPWAY_EXPECT_COMMIT: expectCommit }),
        ...(expectContentKey !== undefined && { SLIPWAY_EXPECT_CONTENT_KEY: expectContentKey }),
        SLIPWAY_VERIFY_TIMEOUT: String(timeout),
        SLIPWAY_VERIFY_INTERVAL: String(interval),
        SLIPWAY_SMOKE_PATH: smoke,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === null) reject(new Error(`sh twin was killed; output:\n${output}`));
      else resolve({ code, output });
    });
  });
}

async function runTypeScriptVerify({
  url,
  timeout,
  interval,
  expectCommit,
  expectContentKey,
  smoke = SMOKE_PATH,
}: VerifyRun): Promise<VerifyOutcome> {
  let output = '';
  const capture = (chunk: unknown) => ((output += String(chunk)), true);
  const spies = [jest.spyOn(process.stdout, 'write'), jest.spyOn(process.stderr, 'write')];
  spies.forEach((spy) => spy.mockImplementation(capture));
  try {
    const code = await runVerifyCommand([
      ...['--url', url],
      ...(expectCommit !== undefined ? ['--expect-commit', expectCommit] : []),
      ...(expectContentKey !== undefined ? ['--expect-content-key', expectContentKey] : []),
      ...['--timeout', String(timeout), '--interval', String(interval), '--smoke', smoke],
    ]).catch((error: Error) => {
      // The CLI entry prints a usage error and exits 2.
      output += `${error.message}\n`;
      return VERIFY_EXIT.usage;
    });
    return { code, output };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
}

interface Scenario {
  name: string;
  /** The deployment under test; `elsewhere` is another healthy deployment serving the expected commit. */
  deployment: ((elsewhere: string) => DeploymentScenario) | 'nothing listening';
  expect?: { commit?: string; contentKey?: string };
  exit: number;
  timeout?: number;
  /** Each twin's output must contain this. */
  says?: RegExp;
}

const healthy =
  (extra: Partial<DeploymentScenario> = {}) =>
  (): DeploymentScenario => ({
    healthStatus: () => 'pass',
    commit: COMMIT,
    ...extra,
  });

const scenarios: Scenario[] = [
  { name: 'healthy and the right commit', deployment: healthy(), exit: VERIFY_EXIT.ok },
  {
    name: 'health fails',
    deployment: healthy({ healthStatus: () => 'fail' }),
    exit: VERIFY_EXIT.unhealthy,
  },
  {
    // The service reports warn for upstream trouble it rides out: healthy, with the warning printed.
    name: 'health warns',
    deployment: healthy({ healthStatus: () => 'warn' }),
    exit: VERIFY_EXIT.ok,
    says: /verify: warning: \/health reports "warn" \(degraded, still serving\): .*last upstream call failed/,
  },
  {
    name: 'wrong commit',
    deployment: healthy({ commit: 'f'.repeat(40) }),
    exit: VERIFY_EXIT.wrongVersion,
  },
  { name: 'nothing listening', deployment: 'nothing listening', exit: VERIFY_EXIT.timeout },
  {
    name: 'smoke path answers 500',
    deployment: healthy({ smokeStatus: 500 }),
    exit: VERIFY_EXIT.smokeFailed,
  },
  {
    name: 'every answer redirects to another, healthy host',
    deployment: (elsewhere) => healthy({ redirectAllTo: elsewhere })(),
    exit: VERIFY_EXIT.unhealthy,
    says: /health is "HTTP 302 \(a redirect/,
  },
  {
    name: 'the smoke path redirects to another host',
    deployment: (elsewhere) => healthy({ redirectSmokeTo: elsewhere })(),
    exit: VERIFY_EXIT.smokeFailed,
    says: /answered HTTP 302 \(a redirect.*, expected 2xx/,
  },
  {
    name: 'the expected content key',
    deployment: healthy({ contentKey: CONTENT_KEY }),
    expect: { contentKey: CONTENT_KEY },
    exit: VERIFY_EXIT.ok,
  },
  {
    name: 'another content key',
    deployment: healthy({ contentKey: 'aaaaaaaaaaaaaaaa' }),
    expect: { commit: COMMIT, contentKey: CONTENT_KEY },
    exit: VERIFY_EXIT.wrongVersion,
    says: /serving content key aaaaaaaaaaaaaaaa, expected 3f9a2c7d1e0b4a65/,
  },
  {
    name: 'no content key reported',
    deployment: healthy(),
    expect: { contentKey: CONTENT_KEY },
    exit: VERIFY_EXIT.wrongVersion,
  },
  // A generous timeout: the point is that every twin keeps polling, not how fast.
  {
    name: 'healthy after a few polls',
    deployment: healthy({ healthStatus: (n) => (n <= 2 ? 'fail' : 'pass') }),
    exit: VERIFY_EXIT.ok,
    timeout: 30,
  },
];

const twins = (script: string) =>
  [
    ['sh (curl)', (r: VerifyRun) => runShellTwin(script, 'curl', r)],
    ['sh (GNU wget)', (r: VerifyRun) => runShellTwin(script, 'GNU wget', r)],
    ['sh (busybox wget)', (r: VerifyRun) => runShellTwin(script, 'busybox wget', r)],
    ['ts', runTypeScriptVerify],
  ] as const;

describe('verify parity: slipway verify vs the deploy template sh twin (curl and wget)', () => {
  it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))(
    '%s',
    async (_name, scenario) => {
      const script = extractShellVerifyScript();
      const codes: Record<string, number> = {};
      const elsewhere = await startFakeDeployment(healthy()());
      try {
        for (const [twin, runVerify] of twins(script)) {
          // A fresh server per run, so "healthy after a few polls" starts from poll 1 for each twin.
          let deployment: FakeDeployment | undefined;
          if (scenario.deployment !== 'nothing listening') {
            deployment = await startFakeDeployment(scenario.deployment(elsewhere.url));
          }
          const askedElsewhere = elsewhere.healthRequests();
          try {
            const outcome = await runVerify({
              url: deployment?.url ?? (await unusedLoopbackUrl()),
              timeout: scenario.timeout ?? 2,
              interval: 1,
              ...(scenario.expect
                ? { expectCommit: scenario.expect.commit, expectContentKey: scenario.expect.contentKey }
                : { expectCommit: COMMIT }),
            });
            codes[twin] = outcome.code;
            // curl follows no redirect and GNU wget gets --max-redirect=0, so the other host is never asked;
            // busybox wget cannot be told not to follow, and is judged by the first response's status alone.
            if (twin !== 'sh (busybox wget)') {
              expect({ twin, askedElsewhere: elsewhere.healthRequests() - askedElsewhere }).toEqual({
                twin,
                askedElsewhere: 0,
              });
            }
            if (scenario.says)
              expect({ twin, output: outcome.output }).toEqual({
                twin,
                output: expect.stringMatching(scenario.says),
              });
          } finally {
            await deployment?.close();
          }
        }
      } finally {
        await elsewhere.close();
      }
      expect(codes).toEqual({
        'sh (curl)': scenario.exit,
        'sh (GNU wget)': scenario.exit,
        'sh (busybox wget)': scenario.exit,
        ts: scenario.exit,
      });
    },
    120_000,
  );

  it('refuses a URL with credentials as a usage error, printing no password, in every twin', async () => {
    const script = extractShellVerifyScript();
    for (const [twin, runVerify] of twins(script)) {
      const outcome = await runVerify({
        url: 'https://deployer:hunter2-secret@staging.example.com',
        timeout: 1,
        interval: 1,
        expectCommit: COMMIT,
      });
      expect({ twin, code: outcome.code }).toEqual({ twin, code: VERIFY_EXIT.usage });
      expect(outcome.output).toMatch(/must not contain a user name or password/);
      expect(outcome.output).not.toContain('hunter2');
    }
  });

  it('refuses a content key of the wrong shape as a usage error, in every twin', async () => {
    const script = extractShellVerifyScript();
    for (const expectContentKey of [
      'zz',
      'ABCDEF0123456789',
      '0123456789abcde',
      'a'.repeat(65),
      '0123456789abcdef;x',
    ]) {
      for (const [twin, runVerify] of twins(script)) {
        const outcome = await runVerify({
          url: 'http://127.0.0.1:9',
          timeout: 1,
          interval: 1,
          expectContentKey,
        });
        expect({ twin, expectContentKey, code: outcome.code }).toEqual({
          twin,
          expectContentKey,
          code: VERIFY_EXIT.usage,
        });
        expect(outcome.output).toMatch(/16 to 64 lowercase hex digits/);
      }
    }
  });

  it("refuses a smoke path that could leave the base URL's origin, in every twin", async () => {
    const script = extractShellVerifyScript();
    for (const [twin, runVerify] of twins(script)) {
      const outcome = await runVerify({
        url: 'http://127.0.0.1:9',
        timeout: 1,
        interval: 1,
        expectCommit: COMMIT,
        smoke: '/\\\\evil.example/x',
      });
      expect({ twin, code: outcome.code }).toEqual({ twin, code: VERIFY_EXIT.usage });
      expect(outcome.output).toMatch(/must be a path on .*origin/);
    }
  });

  it('has the same defaults for the timeout and the poll interval', () => {
    const script = extractShellVerifyScript();
    expect(script).toContain(`\${SLIPWAY_VERIFY_TIMEOUT:-${DEFAULT_TIMEOUT_SECONDS}}`);
    expect(script).toContain(`\${SLIPWAY_VERIFY_INTERVAL:-${DEFAULT_INTERVAL_SECONDS}}`);
  });
});
