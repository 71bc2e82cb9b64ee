import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const script = new URL('./install-git-hooks.mjs', import.meta.url).pathname;
const repoRoot = new URL('..', import.meta.url).pathname;

function hooksPathAfterInstall(env) {
  const dir = mkdtempSync(join(tmpdir(), 'hooks-'));
  execFileSync('git', ['init', '-q', dir]);
  execFileSync(process.execPath, [script], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, NODE_PATH: join(repoRoot, 'node_modules'), ...env },
  });
  try {
    return execFileSync('git', ['config', 'core.hooksPath'], { cwd: dir }).toString().trim();
  } catch {
    return '';
  }
}

test('a developer checkout gets the hooks', () => {
  assert.equal(hooksPathAfterInstall({}), '.husky/_');
});

test('CI=true and HUSKY=0 skip installing hooks', () => {
  assert.equal(hooksPathAfterInstall({ CI: 'true' }), '');
  assert.equal(hooksPathAfterInstall({ HUSKY: '0' }), '');
});

test('the hooks run lint-staged before a commit and commitlint on its message', () => {
  assert.match(readFileSync(join(repoRoot, '.husky/pre-commit'), 'utf8'), /lint-staged/);
  assert.match(readFileSync(join(repoRoot, '.husky/commit-msg'), 'utf8'), /commitlint --edit "\$1"/);
});

test('commitlint enforces conventional commits', () => {
  const commitlint = join(repoRoot, 'node_modules/.bin/commitlint');
  assert.throws(() => execFileSync(commitlint, { cwd: repoRoot, input: 'fixed stuff', stdio: 'pipe' }));
  execFileSync(commitlint, {
    cwd: repoRoot,
    input: 'fix(weather-app): map upstream 429 to 503',
    stdio: 'pipe',
  });
});
