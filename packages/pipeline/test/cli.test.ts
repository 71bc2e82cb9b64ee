import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The installed entry point, as `npx slipway` runs it (turbo builds dist/ before tests).
const SLIPWAY = join(__dirname, '..', 'bin', 'slipway.js');

async function slipway(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SLIPWAY, ...args]);
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
