// scripts/docker-engine.sh: idempotent start/status, the runtime wrapper's spec edit, and privileged containers
// through it. Needs the engine running (npm run docker:engine -- start); it never stops the engine, which other
// suites and people share.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildStandIns, DOCKER } from '../stand-ins/build-stand-ins.mjs';
import { repoRoot, run } from './image-harness.mjs';

const engineScript = join(repoRoot, 'scripts/docker-engine.sh');
const wrapper = '/usr/local/libexec/slipway/runc-within-bounding-set';
const work = mkdtempSync(join(tmpdir(), 'slipway-engine-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

// CAP_SYS_RESOURCE is capability 24; the wrapper only edits specs where the bounding set lacks it.
const CAP_SYS_RESOURCE_BIT = 24n;
const boundingSetHasSysResource = () => {
  const capBnd = /^CapBnd:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1];
  return ((BigInt(`0x${capBnd}`) >> CAP_SYS_RESOURCE_BIT) & 1n) === 1n;
};

before(async () => {
  await buildStandIns(['busybox']);
});

test('start and status are idempotent on a running engine and say so in one line each', async () => {
  const { stdout } = await run('bash', [engineScript, 'start']);
  const lines = stdout.trim().split('\n');
  assert.ok(
    lines.every((line) => line.startsWith('docker-engine: ')),
    stdout,
  );
  assert.match(stdout, /runtime wrapper up to date at /);
  assert.match(stdout, /compose v2 CLI plugin shim up to date at /);
  assert.match(stdout, /dockerd already answers/);
  assert.doesNotMatch(stdout, /started dockerd/);
  const status = await run('bash', [engineScript, 'status']);
  assert.match(status.stdout, /^docker-engine: dockerd answers/);
  const usage = await run('bash', [engineScript, 'restart']).catch((error) => error.result);
  assert.equal(usage.code, 2);
});

test('the engine runs its containers through the wrapper runtime', async () => {
  const { stdout } = await run(DOCKER, ['info', '--format', '{{.DefaultRuntime}} {{json .Runtimes}}']);
  assert.match(stdout, /^slipway-runc /);
  assert.ok(stdout.includes(wrapper), stdout);
});

test('the wrapper removes only CAP_SYS_RESOURCE and keeps 64-bit integers exact', async () => {
  // A stand-in runc that records the spec it was handed, first on PATH for the wrapper.
  const bin = join(work, 'bin');
  const bundle = join(work, 'bundle');
  await run('mkdir', ['-p', bin, bundle]);
  writeFileSync(
    join(bin, 'runc'),
    `#!/bin/sh\ncp "${bundle}/config.json" "${work}/seen.json"\necho "runc $*"\n`,
  );
  chmodSync(join(bin, 'runc'), 0o755);
  const spec =
    '{"ociVersion":"1.0.2","process":{"capabilities":{' +
    '"bounding":["CAP_SYS_RESOURCE","CAP_CHOWN","CAP_SYS_ADMIN"],' +
    '"effective":["CAP_CHOWN","CAP_SYS_RESOURCE","CAP_SYS_ADMIN"],' +
    '"permitted":["CAP_CHOWN","CAP_SYS_ADMIN","CAP_SYS_RESOURCE"],' +
    '"inheritable":["CAP_SYS_RESOURCE"]},' +
    '"rlimits":[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615}]}}';
  writeFileSync(join(bundle, 'config.json'), spec);
  const { stdout } = await run(wrapper, ['--root', '/run/x', 'create', '--bundle', bundle, 'container-id'], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  assert.equal(stdout.trim(), `runc --root /run/x create --bundle ${bundle} container-id`);
  const seen = readFileSync(join(work, 'seen.json'), 'utf8');
  if (boundingSetHasSysResource()) {
    assert.equal(seen, spec, 'a kernel that can grant CAP_SYS_RESOURCE gets the spec unchanged');
    return;
  }
  assert.equal(
    seen,
    '{"ociVersion":"1.0.2","process":{"capabilities":{' +
      '"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"],' +
      '"effective":["CAP_CHOWN","CAP_SYS_ADMIN"],' +
      '"permitted":["CAP_CHOWN","CAP_SYS_ADMIN"],' +
      '"inheritable":[]},' +
      '"rlimits":[{"type":"RLIMIT_MEMLOCK","hard":18446744073709551615,"soft":18446744073709551615}]}}',
  );
});

test('privileged containers run (docker-in-docker needs them) and get every capability the kernel allows', async () => {
  const { stdout } = await run(DOCKER, [
    'run',
    '--rm',
    '--privileged',
    'busybox:1.37.0',
    'sh',
    '-c',
    'grep CapEff /proc/self/status && mkdir /m && mount -t tmpfs none /m && echo mount-ok',
  ]);
  const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(stdout)[1]}`);
  const CAP_SYS_ADMIN_BIT = 21n;
  assert.equal((capEff >> CAP_SYS_ADMIN_BIT) & 1n, 1n, 'a privileged container has CAP_SYS_ADMIN');
  assert.match(stdout, /mount-ok/);
  const exec = await run('sh', [
    '-c',
    `id=$(${DOCKER} run -d --privileged busybox:1.37.0 sleep 30) && ${DOCKER} exec --privileged "$id" sh -c 'echo exec-ok'; ${DOCKER} rm -f "$id" >/dev/null`,
  ]);
  assert.equal(exec.stdout.trim(), 'exec-ok');
});

test('docker compose runs Debian docker-compose through the CLI plugin shim', async () => {
  const { stdout } = await run(DOCKER, ['compose', 'version']);
  assert.match(stdout, /docker-compose version 1\.29/);
});

test('stop only ever signals the dockerd its pid file names, never another process', async () => {
  // A pid file naming a live process that is not dockerd (a stale file whose pid was reused) must be left alone.
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pidfile = join(work, 'stale-dockerd.pid');
    writeFileSync(pidfile, `${sleeper.pid}\n`);
    const { stdout } = await run('bash', [engineScript, 'stop'], {
      env: { ...process.env, SLIPWAY_DOCKERD_PIDFILE: pidfile },
    });
    assert.match(stdout, /^docker-engine: dockerd is not running \(no live pid in /);
    assert.equal(sleeper.exitCode, null);
    assert.doesNotThrow(() => process.kill(sleeper.pid, 0), 'the unrelated process still runs');
  } finally {
    sleeper.kill();
  }
});
