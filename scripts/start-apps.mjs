#!/usr/bin/env node
// `npm start`: build what the apps need with turbo, then run every app (or the ones named) side by side, each on
// its declared port (`slipway.port` in its package.json), until Ctrl-C.
//
// Usage: npm start [-- APP...]        APP is a folder name under apps/ (e.g. weather-app)
// Exit:  0 after Ctrl-C/SIGTERM once every app has shut down; 2 on a usage error; otherwise the exit code of the
//        first app that stopped on its own (78 for bad configuration).
// Stop:  Ctrl-C, SIGTERM or SIGHUP to this script, or the end of the npm that runs it (even by a SIGKILL of npm
//        alone, which npm cannot pass on): the apps get SIGTERM and shut down gracefully. Watching npm needs Linux's
//        /proc. A SIGKILL of the whole process group kills the watcher too (docs/development.md).
//
// Why not `turbo run start`: turbo prints its run summary and error lines after a failed task, so a start-up error
// ("PORT must be a whole number …") would be buried under them. Here an app's own last line stays the last line a
// person sees: once one app fails, the others are stopped and their output is no longer shown. The apps get the
// whole environment, so every documented variable reaches them (`npm run dev` goes through turbo, whose strict env
// mode passes exactly what each app's turbo.json lists).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { whenNpmEnds } from './npm-watchdog.mjs';
import { portForOneAppMessage } from './port-for-one-app.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Apps under apps/ with a start script: [{ dir, name }], sorted by folder name. */
function startableApps() {
  const appsDir = path.join(root, 'apps');
  return readdirSync(appsDir)
    .filter((dir) => existsSync(path.join(appsDir, dir, 'package.json')))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(path.join(appsDir, dir, 'package.json'), 'utf8')),
    }))
    .filter(({ manifest }) => manifest.scripts?.start)
    .map(({ dir, manifest }) => ({ dir, name: manifest.name }))
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

function usage(message) {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(2);
}

const all = startableApps();
const wanted = process.argv.slice(2);
for (const arg of wanted) {
  if (!all.some((app) => app.dir === arg)) {
    usage(`no app "${arg}" under apps/ (apps: ${all.map((app) => app.dir).join(', ')})`);
  }
}
const apps = wanted.length > 0 ? all.filter((app) => wanted.includes(app.dir)) : all;
if (process.env.PORT && apps.length > 1) {
  process.stderr.write(
    `${portForOneAppMessage({ command: 'npm start', port: process.env.PORT, nameOne: `npm start -- ${apps[0].dir}` })}\n`,
  );
  process.exit(2);
}

const build = spawnSync(
  'npx',
  ['turbo', 'run', 'build', '--output-logs=errors-only', ...apps.map((app) => `--filter=${app.name}`)],
  { cwd: root, stdio: 'inherit' },
);
if (build.status !== 0) process.exit(build.status ?? 1);

let failed = false;
let stopping = false;
const running = new Map();
for (const app of apps) {
  // stderr joins stdout in the app itself (2>&1), so its lines keep the order it wrote them in.
  const child = spawn('sh', ['-c', 'exec npm run start --silent -w "$1" 2>&1', 'sh', app.name], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group: npm does not pass a signal on to the app it runs, so a stop signals the whole group.
    detached: true,
  });
  running.set(child, app);
  // Output is shown until an app fails; after that only the failed app's own lines have been shown last.
  child.stdout.on('data', (chunk) => failed || process.stdout.write(chunk));
  // 'close', not 'exit': by then all of the app's output has been shown, so its last line stays last.
  child.on('close', (code, signal) => {
    running.delete(child);
    // A signal during a stop we asked for is a clean stop; any other end is that app's failure.
    const appFailed = code !== 0 && !(stopping && signal);
    if (appFailed && process.exitCode === undefined) process.exitCode = code ?? 1;
    if (appFailed && !stopping) {
      failed = true;
      stopAll('SIGTERM');
    }
  });
}

function stopAll(signal) {
  stopping = true;
  for (const child of running.keys()) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stopAll(signal));
// npm passes no SIGKILL or SIGHUP on: once the npm that runs this script is gone, the apps stop as if signalled.
whenNpmEnds(() => stopAll('SIGTERM'));
