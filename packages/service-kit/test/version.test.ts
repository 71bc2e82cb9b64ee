import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { resolveVersionInfo } from '../src';

describe('resolveVersionInfo', () => {
  it('prefers the build metadata from the environment', () => {
    const info = resolveVersionInfo({
      env: {
        APP_VERSION: '2.0.0',
        GIT_COMMIT_SHA: 'b'.repeat(40),
        CONTENT_KEY: '0123456789abcdef',
        BUILD_TIME: '2026-01-01T00:00:00Z',
      },
      packageVersion: '0.1.0',
    });
    expect(info).toEqual({
      version: '2.0.0',
      commit: 'b'.repeat(40),
      contentKey: '0123456789abcdef',
      buildTime: '2026-01-01T00:00:00Z',
      node: process.version,
    });
  });

  it('falls back to the package version and git HEAD in a checkout', () => {
    // CI runners may copy the tree without .git; then the honest answer is "unknown".
    let head = 'unknown';
    try {
      head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: __dirname, stdio: 'pipe' }).toString().trim();
    } catch {
      // not a checkout
    }
    expect(resolveVersionInfo({ env: {}, packageVersion: '0.1.0', cwd: __dirname })).toMatchObject({
      version: '0.1.0',
      commit: head,
      contentKey: 'unknown',
      buildTime: 'unknown',
    });
  });

  it('says "unknown" outside a git checkout', () => {
    const outside = mkdtempSync(join(tmpdir(), 'no-git-'));
    expect(resolveVersionInfo({ env: {}, cwd: outside })).toMatchObject({
      version: 'unknown',
      commit: 'unknown',
    });
  });
});
