import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * The weather-app package directory. Found by walking up, because this file runs both from test/ (ts-jest)
 * and from the compiled bench build under node_modules/.cache.
 */
export function weatherAppRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@slipway/weather-app'
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no @slipway/weather-app package.json above ${__dirname}`);
    dir = parent;
  }
}

/** The compiled entry point, exactly as `npm start` and the container image run it. */
export function weatherAppEntry(): string {
  const entry = join(weatherAppRoot(), 'dist', 'server.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  return entry;
}

/** A free loopback port; the caller binds it right away. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export type NodeProcess = {
  child: ChildProcess;
  url: string;
  pid: number;
  exited: Promise<ExitStatus>;
  /** From spawn to the first 200 from `readyPath`. */
  startupMs: number;
  /** Sends SIGTERM (unless the process is gone already) and waits for the exit. */
  stop: () => Promise<ExitStatus>;
};

export type StartOptions = {
  env: Record<string, string>;
  /** Each line of stdout and stderr, for tests that check logs. Without it, output goes to /dev/null. */
  onLine?: (line: string) => void;
  /** Options for node itself, before the script, e.g. --trace-gc. */
  nodeArgs?: string[];
};

const STOP_GRACE_MS = 15_000;

/**
 * Spawns a Node script that listens on the PORT it is given and waits until GET `readyPath` answers 200.
 * The child gets only PATH and `env`, so nothing from the caller's environment leaks into a measurement.
 */
export async function startNodeServer(
  script: string,
  { env, onLine, nodeArgs = [] }: StartOptions,
  readyPath = '/health',
): Promise<NodeProcess> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', onLine ? 'pipe' : 'ignore', onLine ? 'pipe' : 'ignore'],
  });
  if (onLine) {
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
      stream?.on('end', () => partial && onLine(partial));
    }
  }
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  // SIGTERM runs the graceful shutdown; a process still there after STOP_GRACE_MS is killed, so a stuck
  // shutdown can never leave a server behind a finished test run.
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
      void exited.then(() => clearTimeout(killer));
    }
    return exited;
  };
  try {
    await waitForOk(`${url}${readyPath}`, exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const startupMs = performance.now() - spawnedAt;
  return { child, url, pid: child.pid ?? -1, exited, startupMs, stop };
}

/** Polls until `url` answers 200; fails at once if the process exits first. */
export async function waitForOk(url: string, exited: Promise<ExitStatus>, attempts = 2000): Promise<void> {
  let exit: ExitStatus | undefined;
  void exited.then((status) => (exit = status));
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (exit)
      throw new Error(`process exited (code ${exit.code}, signal ${exit.signal}) before ${url} answered`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`${url} did not answer 200`);
}

export function startWeatherApp(options: StartOptions): Promise<NodeProcess> {
  return startNodeServer(weatherAppEntry(), options);
}

/** Resident set size of a process, from /proc (Linux), in bytes. */
export function residentSetBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

// USER_HZ: Linux reports process times in 1/100 s on every architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU time a process has used so far, from /proc (Linux), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces: state is [0], utime [11], stime [12].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}
