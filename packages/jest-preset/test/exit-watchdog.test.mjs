import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const jestBin = join(dirname(require.resolve('jest/package.json')), 'bin', 'jest.js');
const fixtures = join(here, 'fixtures', 'leaky');

/** Runs the real jest with this preset over tests that leave a server listening. */
async function runLeakyJest(env = {}) {
  const config = JSON.stringify({
    preset: join(here, '..', 'jest-preset.js'),
    rootDir: fixtures,
    testMatch: ['<rootDir>/*.test.js'],
    transform: {},
    reporters: ['default'],
  });
  const startedAt = Date.now();
  const child = spawn(process.execPath, [jestBin, '--config', config, '--ci'], {
    cwd: fixtures,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    // The bound under test is 10 s; far past it, this test fails instead of hanging.
    timeout: 60_000,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const [status, signal] = await once(child, 'exit');
  return { status, signal, stderr, seconds: (Date.now() - startedAt) / 1000 };
}

// Both runs wait out the 10 s bound, so they run side by side.
describe('the exit watchdog', { concurrency: true }, () => {
  test('a run whose tests leak a listening server ends within the bound, says why, and keeps exit 0', async () => {
    const { status, stderr, seconds, signal } = await runLeakyJest();
    assert.equal(signal, null, 'jest was killed by the test timeout: the run hung');
    assert.equal(status, 0);
    assert.match(stderr, /open handles kept Jest alive 10 s after the last test; exiting/);
    assert.ok(seconds < 40, `took ${seconds} s`);
  });

  test('a failing run that leaks keeps its failure exit code', async () => {
    const { status, stderr, signal } = await runLeakyJest({ LEAKY_FAIL: '1' });
    assert.equal(signal, null, 'jest was killed by the test timeout: the run hung');
    assert.equal(status, 1);
    assert.match(stderr, /open handles kept Jest alive/);
  });
});
