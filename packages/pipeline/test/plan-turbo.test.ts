// slipway finds the repository's own turbo, however it was started: `npx slipway` puts node_modules/.bin on PATH,
// but an alias to bin/slipway.js or `node packages/pipeline/bin/slipway.js` does not.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { runTurbo, turboExecutable } from '../src/plan/turbo';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';

const WORKSPACE_TURBO = path.join(REPOSITORY_ROOT, 'node_modules', '.bin', 'turbo');
// A PATH with the system's directories only: no node_modules/.bin, so no turbo.
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

describe('turboExecutable', () => {
  it("is the repository's node_modules/.bin/turbo, from its root and from a directory inside it", () => {
    expect(turboExecutable(REPOSITORY_ROOT)).toBe(WORKSPACE_TURBO);
    expect(turboExecutable(path.join(REPOSITORY_ROOT, 'packages', 'pipeline', 'src'))).toBe(WORKSPACE_TURBO);
  });

  it('is turbo on PATH where no directory up to the root has one', () => {
    const dir = makeTempDir('no-turbo');
    try {
      mkdirSync(path.join(dir, 'node_modules'));
      expect(turboExecutable(dir)).toBe('turbo');
    } finally {
      removeDir(dir);
    }
  });
});

describe('runTurbo', () => {
  it("runs the repository's turbo when PATH has none", async () => {
    const version = await runTurbo(REPOSITORY_ROOT, ['--version'], { ...process.env, PATH: SYSTEM_PATH });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('says turbo is missing in one line where there is none', async () => {
    const dir = makeTempDir('no-turbo');
    try {
      await expect(runTurbo(dir, ['--version'], { PATH: '/nonexistent' })).rejects.toThrow(
        /^turbo is neither in the repository \(node_modules\/\.bin\) nor on PATH; install the workspace \(npm ci\)$/,
      );
    } finally {
      removeDir(dir);
    }
  });
});
