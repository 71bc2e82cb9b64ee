// `npm run bench -w @slipway/pipeline`: how long `slipway plan` takes in a fixture monorepo with two apps
// (this checkout's weather-app plus a small status-app), printed, never asserted. Three plans:
//   diff            a push that changed one app (git + turbo query + content keys)
//   reconcile       the default branch, asking Debian's docker-registry and a staging /version on loopback
//   status          `slipway status` with the same registry and staging
// Needs git and docker-registry (apt-get install docker-registry); uses the built CLI (turbo builds it first).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import plan from '../dist/plan/plan-child-pipelines.js';
import status from '../dist/plan/status.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const work = mkdtempSync(join(tmpdir(), 'slipway-plan-bench-'));
const repo = join(work, 'repo');
const cleanups = [() => rmSync(work, { recursive: true, force: true })];
const git = (args) =>
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@slipway.invalid', ...args], {
    cwd: repo,
    encoding: 'utf8',
  }).trim();

function write(file, content) {
  mkdirSync(dirname(join(repo, file)), { recursive: true });
  writeFileSync(join(repo, file), content);
}

async function freePort() {
  const server = http.createServer();
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

async function measure(label, fn) {
  const times = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    `  ${label.padEnd(48)} median ${median.toFixed(0).padStart(5)} ms   min ${times[0].toFixed(0)} ms   max ${times.at(-1).toFixed(0)} ms`,
  );
}

try {
  mkdirSync(repo);
  for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0')) {
    if (!file) continue;
    try {
      mkdirSync(dirname(join(repo, file)), { recursive: true });
      copyFileSync(join(root, file), join(repo, file));
    } catch {
      // deleted in the working tree
    }
  }
  write('apps/status-app/package.json', JSON.stringify({ name: '@slipway/status-app', version: '0.1.0' }));
  write('apps/status-app/src/index.js', "console.log('status');\n");
  write(
    'apps/status-app/.gitlab-ci.yml',
    readFileSync(join(repo, 'apps/weather-app/.gitlab-ci.yml'), 'utf8').replaceAll(
      'weather-app',
      'status-app',
    ),
  );
  git(['init', '--quiet', '--initial-branch=main']);
  git(['add', '--all']);
  git(['commit', '--quiet', '--no-verify', '-m', 'bench: two apps']);
  const base = git(['rev-parse', 'HEAD']);
  write('apps/weather-app/src/bench-change.ts', 'export {};\n');
  git(['add', '--all']);
  git(['commit', '--quiet', '--no-verify', '-m', 'bench: a change']);
  const head = git(['rev-parse', 'HEAD']);

  const port = await freePort();
  writeFileSync(
    join(work, 'registry.yml'),
    `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${work}/registry}}\nhttp: {addr: 127.0.0.1:${port}}\n`,
  );
  const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
  cleanups.unshift(() => registry.kill());
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  const staging = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ commit: base, contentKey: '0000000000000000' }));
  });
  await new Promise((done) => staging.listen(0, '127.0.0.1', done));
  cleanups.unshift(() => staging.close());
  const stagingUrl = `http://127.0.0.1:${staging.address().port}`;
  const env = {
    PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`,
    HOME: process.env.HOME,
    CI_DEFAULT_BRANCH: 'main',
    CI_COMMIT_BEFORE_SHA: base,
    CI_COMMIT_SHA: head,
  };
  const reconcile = {
    ...env,
    CI_PIPELINE_SOURCE: 'push',
    CI_COMMIT_BRANCH: 'main',
    SLIPWAY_IMAGE_REPOSITORY: `127.0.0.1:${port}/bench`,
    WEATHER_APP_STAGING_URL: stagingUrl,
    STATUS_APP_STAGING_URL: stagingUrl,
  };

  console.log(`slipway plan with two apps (${RUNS} runs each, on this machine, not asserted):`);
  await measure('diff (a push that changed weather-app)', () => plan.planChildPipelines({ cwd: repo, env }));
  await measure('reconcile (default branch: registry + staging)', () =>
    plan.planChildPipelines({ cwd: repo, env: reconcile }),
  );
  await measure('slipway status (registry + staging)', () => status.collectStatus(repo, reconcile));
} finally {
  for (const cleanup of cleanups) cleanup();
}
