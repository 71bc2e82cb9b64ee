import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from './support/fixture-repository';

// The installed entry point, as `npx slipway` runs it (turbo builds dist/ before tests).
const SLIPWAY = join(__dirname, '..', 'bin', 'slipway.js');

async function slipway(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return slipwayWith({}, ...args);
}

async function slipwayWith(
  options: { node?: string; cwd?: string; env?: NodeJS.ProcessEnv },
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      options.node ?? process.execPath,
      [SLIPWAY, ...args],
      {
        cwd: options.cwd,
        env: options.env,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('the slipway entry point', () => {
  it('lists its commands', async () => {
    const { code, stdout } = await slipway('--help');
    expect(code).toBe(0);
    for (const command of ['plan', 'status', 'verify', 'gitlab', 'templates', 'pipeline'])
      expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('exits 2 with usage for no command or an unknown one', async () => {
    expect((await slipway()).code).toBe(2);
    const unknown = await slipway('deploy');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('slipway: unknown command "deploy"');
  });

  it('loads each command from the build', async () => {
    const verify = await slipway('verify', '--url', 'http://127.0.0.1:9', '--expect-commit', 'abc');
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain('--expect-commit must be a full 40-hex commit SHA');
  });
});

// Started by its path (an alias, or `node packages/pipeline/bin/slipway.js`), not through npx: nothing puts the
// checkout's node_modules/.bin first on PATH.
describe('the slipway entry point, started by its path', () => {
  it("plans from a directory inside the checkout with no turbo on PATH (it runs the checkout's own)", async () => {
    const result = await slipwayWith(
      {
        cwd: join(REPOSITORY_ROOT, 'packages'),
        env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' },
      },
      'plan',
      '--base',
      'HEAD',
      '--format',
      'json',
    );
    expect(result.stderr).not.toContain('turbo');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(expect.any(Array));
  }, 120_000);

  // Debian's Node (20 here) when the machine has one older than 24; the check cannot run without one.
  const SYSTEM_NODE = '/usr/bin/node';
  const systemMajor = existsSync(SYSTEM_NODE)
    ? Number(execFileSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).split('.')[0])
    : undefined;
  (systemMajor !== undefined && systemMajor < 24 ? it : it.skip)(
    'refuses a Node older than 24 in one line that says how to run it',
    async () => {
      const result = await slipwayWith({ node: SYSTEM_NODE }, '--help');
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^slipway: needs Node 24 \(this is Node 2\d\.[\d.]+\); run it from the checkout as `npx slipway`.*\n$/,
      );
    },
  );
});
