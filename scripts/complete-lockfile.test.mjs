import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { completeLockfile, platformOf } from './complete-lockfile.mjs';

test('the platform comes from the package name', () => {
  assert.deepEqual(platformOf('@turbo/darwin-arm64'), { os: ['darwin'], cpu: ['arm64'], libc: [] });
  assert.deepEqual(platformOf('@turbo/windows-64'), { os: ['win32'], cpu: ['x64'], libc: [] });
  assert.deepEqual(platformOf('@unrs/resolver-binding-linux-arm-musleabihf'), {
    os: ['linux'],
    cpu: ['arm'],
    libc: ['musl'],
  });
  assert.deepEqual(platformOf('@unrs/resolver-binding-wasm32-wasi'), { os: [], cpu: ['wasm32'], libc: [] });
  assert.throws(() => platformOf('left-pad'), /cannot tell the platform of "left-pad"/);
});

test('missing optional platform packages get entries; present ones are left alone', () => {
  const lock = {
    lockfileVersion: 3,
    packages: {
      '': { name: 'x', devDependencies: { turbo: '2.11.11' } },
      'node_modules/turbo': {
        version: '2.11.11',
        dev: true,
        optionalDependencies: { '@turbo/linux-64': '2.11.11', '@turbo/darwin-arm64': '2.11.11' },
      },
      'node_modules/@turbo/linux-64': { version: '2.11.11', dev: true, optional: true, os: ['linux'] },
    },
  };
  const { lock: completed, added } = completeLockfile(lock);
  assert.deepEqual(added, ['@turbo/darwin-arm64@2.11.11']);
  assert.deepEqual(completed.packages['node_modules/@turbo/darwin-arm64'], {
    version: '2.11.11',
    cpu: ['arm64'],
    dev: true,
    optional: true,
    os: ['darwin'],
  });
  assert.deepEqual(Object.keys(completed.packages)[0], '');
  assert.deepEqual(completeLockfile(completed).added, [], 'a second run adds nothing');
});

test('a hoisting conflict nests the entry under its parent', () => {
  const lock = {
    packages: {
      '': {},
      'node_modules/a': { version: '1.0.0', optionalDependencies: { '@x/bin-linux-x64': '2.0.0' } },
      'node_modules/b': { version: '1.0.0', optionalDependencies: { '@x/bin-linux-arm64': '1.0.0' } },
      'node_modules/@x/bin-linux-x64': { version: '1.0.0', optional: true },
    },
  };
  const { added, lock: completed } = completeLockfile(lock);
  assert.deepEqual(added, ['@x/bin-linux-arm64@1.0.0']);
  assert.ok(completed.packages['node_modules/@x/bin-linux-arm64']);
});

test('a range that is not an exact version is refused with a clear message', () => {
  const lock = {
    packages: { '': {}, 'node_modules/a': { optionalDependencies: { '@x/y-linux-x64': '^1.0.0' } } },
  };
  assert.throws(
    () => completeLockfile(lock),
    /wants @x\/y-linux-x64@"\^1.0.0", which is not an exact version/,
  );
});

test('the committed package-lock.json is complete', () => {
  const committed = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
  assert.deepEqual(completeLockfile(committed).added, []);
});
