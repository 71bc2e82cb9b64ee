// npm run dev's usage error: PORT with more than one app, refused as npm start refuses it, before turbo starts
// anything; with one app selected the arguments reach turbo unchanged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(root, 'scripts', 'dev-apps.mjs');

function dev(args, env = {}) {
  const { PORT: _port, ...rest } = process.env;
  return spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...rest, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

test('PORT with every app is a usage error, with the message npm start gives', () => {
  const result = dev([], { PORT: '4000' });
  assert.equal(result.status, 2);
  assert.match(
    result.stderr,
    /^npm run dev: PORT applies to one app; name it: PORT=4000 npm run dev -- --filter=@slipway\/[a-z-]+\n$/,
  );
});

test('PORT with a filter that selects two apps is a usage error', () => {
  const result = dev(['--filter=./apps/*'], { PORT: '4000' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /PORT applies to one app/);
});

test('PORT with one app (and its dependencies) passes the arguments on to turbo', () => {
  // --dry=json: turbo says what it would run, so nothing starts.
  const result = dev(['--filter=@slipway/weather-app...', '--dry=json'], { PORT: '4000' });
  assert.equal(result.status, 0, result.stderr);
  const tasks = JSON.parse(result.stdout).tasks.map((task) => task.taskId);
  assert.ok(tasks.includes('@slipway/weather-app#dev'));
  assert.ok(!tasks.some((task) => task.startsWith('@slipway/saved-cities#')));
});
