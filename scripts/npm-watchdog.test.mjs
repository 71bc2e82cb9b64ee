// npm start and npm run dev stop their apps when the npm that runs them ends, however it ends (scripts/npm-watchdog.mjs).
// The reproduction: `PORT=<port> npm start -- <app> & kill -KILL $!` left the app holding its port, because the
// script watched its parent, npm's `sh -c`, which outlives npm. Each case starts one app for real on a free port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A port nobody listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts a TCP connection on 127.0.0.1:port. */
function isListening(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `condition` every 200 ms until it holds or `seconds` pass; whether it held. */
async function eventually(condition, seconds) {
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline;) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** Every process below `root` (Linux /proc), so a test can clean up what it started even when the check fails. */
function descendants(root) {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // ended while we looked
    }
  }
  const below = (pid) => {
    for (
      let current = parentOf.get(pid);
      current !== undefined && current > 1;
      current = parentOf.get(current)
    ) {
      if (current === root) return true;
    }
    return false;
  };
  return [...parentOf.keys()].filter(below);
}

const [app] = readdirSync(path.join(root, 'apps')).sort();
const manifest = JSON.parse(readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8'));
const commands = [
  ['npm start', ['start', '--', app]],
  ['npm run dev', ['run', 'dev', '--', `--filter=${manifest.name}`]],
];

for (const [command, npmArgs] of commands) {
  for (const signal of ['SIGKILL', 'SIGHUP']) {
    test(
      `${command}: the app stops when npm itself gets ${signal}`,
      { skip: process.platform !== 'linux' },
      async () => {
        const port = await freePort();
        const { PORT: _port, ...rest } = process.env;
        const npm = spawn('npm', npmArgs, {
          cwd: root,
          env: { ...rest, PORT: String(port), SHUTDOWN_DRAIN_DELAY_MS: '0' },
          stdio: 'ignore',
        });
        let started = [];
        try {
          assert.ok(await eventually(() => isListening(port), 180), `${app} never listened on ${port}`);
          started = descendants(npm.pid);
          npm.kill(signal);
          assert.ok(
            await eventually(async () => !(await isListening(port)), 20),
            `${app} still holds port ${port} 20 s after npm got ${signal}`,
          );
        } finally {
          for (const pid of [npm.pid, ...started]) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        }
      },
    );
  }
}
