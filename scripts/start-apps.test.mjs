// npm start's usage errors: checked before anything is built or started, exit 2 with one line. That the apps end
// with npm, however it ends: npm-watchdog.test.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(root, 'scripts', 'start-apps.mjs');

function start(args, env = {}) {
  const { PORT: _port, ...rest } = process.env;
  return spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...rest, ...env },
    encoding: 'utf8',
  });
}

test('an unknown app is a usage error naming the apps there are', () => {
  const result = start(['no-such-app']);
  assert.equal(result.status, 2);
  const apps = readdirSync(path.join(root, 'apps')).sort();
  assert.equal(result.stderr, `npm start: no app "no-such-app" under apps/ (apps: ${apps.join(', ')})\n`);
});

test('PORT with more than one app is a usage error that says how to name one', () => {
  const result = start([], { PORT: '4000' });
  assert.equal(result.status, 2);
  assert.match(
    result.stderr,
    /^npm start: PORT applies to one app; name it: PORT=4000 npm start -- [a-z-]+\n$/,
  );
});
