#!/usr/bin/env node
// `npm run dev [-- TURBO-ARGS...]`: `turbo run dev` with the arguments given (e.g. --filter=@slipway/<app>), after
// one check turbo cannot make: PORT with more than one app is a usage error, as for `npm start` (every app gets
// the same PORT through turbo.json's globalPassThroughEnv, so the second would fail with EADDRINUSE).
//
// Exit: 2 on that usage error (one line on stderr); otherwise turbo's exit code (128 + n when it ends by signal n).
// Stop: Ctrl-C, SIGTERM or SIGHUP, or the end of the npm that runs it (even by a SIGKILL of npm alone;
// scripts/npm-watchdog.mjs).
// The apps the arguments select are those of turbo's own dry run (`turbo run dev --dry=json`), so a filter means
// here exactly what it means to turbo; the dry run happens only when PORT is set.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { whenNpmEnds } from './npm-watchdog.mjs';
import { portForOneAppMessage } from './port-for-one-app.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/** The packages in apps/ whose dev task turbo would run with `args`, as [{ name, directory }]. */
function selectedApps() {
  // Without the caller's own --dry flag, which turbo accepts only once.
  const selection = args.filter((arg) => !/^--dry(-run)?(=|$)/.test(arg));
  const dry = spawnSync('npx', ['turbo', 'run', 'dev', '--dry=json', ...selection], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (dry.status !== 0) process.exit(dry.status ?? 1);
  return JSON.parse(dry.stdout)
    .tasks.filter(
      (task) => task.task === 'dev' && task.directory.startsWith('apps/') && task.command !== '<NONEXISTENT>',
    )
    .map((task) => ({ name: task.package, directory: task.directory }));
}

if (process.env.PORT) {
  const apps = selectedApps();
  if (apps.length > 1) {
    const nameOne = `npm run dev -- --filter=${apps[0].name}`;
    process.stderr.write(
      `${portForOneAppMessage({ command: 'npm run dev', port: process.env.PORT, nameOne })}\n`,
    );
    process.exit(2);
  }
}

// turbo runs in its own process group, so a stop reaches every task under it (npx and turbo's launcher pass no
// signal on); Ctrl-C reaches this script from the terminal and is passed on like SIGTERM and SIGHUP.
const turbo = spawn('npx', ['turbo', 'run', 'dev', ...args], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
function stop(signal) {
  try {
    process.kill(-turbo.pid, signal);
  } catch {
    // the group is already gone
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));
whenNpmEnds(() => stop('SIGTERM'));
turbo.on('close', (code, signal) => {
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
