// The deploy template verifies with a POSIX-sh twin of `slipway verify` (it cannot assume Node in the deploy image).
// This runs both against the same loopback scenarios and requires the same exit codes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
} from './support/fake-deployment';

const DEPLOY_TEMPLATE = path.resolve(__dirname, '../../../ci-templates/deploy.yml');
const VERIFY_JOB = '.slipway-deploy-verify';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

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
}

function runShellTwin(script: string, { url, timeout, interval }: VerifyRun): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], {
      env: {
        PATH: process.env.PATH,
        SLIPWAY_VERIFY_URL: url,
        SLIPWAY_EXPECT_COMMIT: COMMIT,
        SLIPWAY_VERIFY_TIMEOUT: String(timeout),
        SLIPWAY_VERIFY_INTERVAL: String(interval),
        SLIPWAY_SMOKE_PATH: SMOKE_PATH,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === null) reject(new Error(`sh twin was killed; output:\n${output}`));
      else resolve(code);
    });
  });
}

async function runTypeScriptVerify({ url, timeout, interval }: VerifyRun): Promise<number> {
  const quiet = [jest.spyOn(process.stdout, 'write'), jest.spyOn(process.stderr, 'write')];
  quiet.forEach((spy) => spy.mockImplementation(() => true));
  try {
    return await runVerifyCommand([
      ...['--url', url, '--expect-commit', COMMIT],
      ...['--timeout', String(timeout), '--interval', String(interval), '--smoke', SMOKE_PATH],
    ]);
  } finally {
    quiet.forEach((spy) => spy.mockRestore());
  }
}

const scenarios: Array<[string, DeploymentScenario | 'nothing listening', number, number]> = [
  ['healthy and the right commit', { healthStatus: () => 'pass', commit: COMMIT }, VERIFY_EXIT.ok, 2],
  ['health fails', { healthStatus: () => 'fail', commit: COMMIT }, VERIFY_EXIT.unhealthy, 2],
  ['wrong commit', { healthStatus: () => 'pass', commit: 'f'.repeat(40) }, VERIFY_EXIT.wrongVersion, 2],
  ['nothing listening', 'nothing listening', VERIFY_EXIT.timeout, 2],
  [
    'smoke path answers 500',
    { healthStatus: () => 'pass', commit: COMMIT, smokeStatus: 500 },
    VERIFY_EXIT.smokeFailed,
    2,
  ],
  // A generous timeout: the point is that both keep polling, not how fast.
  [
    'healthy after a few polls',
    { healthStatus: (n) => (n <= 2 ? 'fail' : 'pass'), commit: COMMIT },
    VERIFY_EXIT.ok,
    30,
  ],
];

describe('verify parity: slipway verify vs the deploy template sh twin', () => {
  it.each(scenarios)(
    '%s',
    async (_name, scenario, expectedExit, timeout) => {
      const script = extractShellVerifyScript();
      const exitCodes: number[] = [];
      for (const runVerify of [(r: VerifyRun) => runShellTwin(script, r), runTypeScriptVerify]) {
        // A fresh server per run, so "healthy after a few polls" starts from poll 1 for each twin.
        const deployment = scenario === 'nothing listening' ? undefined : await startFakeDeployment(scenario);
        try {
          exitCodes.push(
            await runVerify({ url: deployment?.url ?? (await unusedLoopbackUrl()), timeout, interval: 1 }),
          );
        } finally {
          await deployment?.close();
        }
      }
      expect({ sh: exitCodes[0], ts: exitCodes[1] }).toEqual({ sh: expectedExit, ts: expectedExit });
    },
    120_000,
  );

  it('has the same defaults for the timeout and the poll interval', () => {
    const script = extractShellVerifyScript();
    expect(script).toContain(`\${SLIPWAY_VERIFY_TIMEOUT:-${DEFAULT_TIMEOUT_SECONDS}}`);
    expect(script).toContain(`\${SLIPWAY_VERIFY_INTERVAL:-${DEFAULT_INTERVAL_SECONDS}}`);
  });
});
