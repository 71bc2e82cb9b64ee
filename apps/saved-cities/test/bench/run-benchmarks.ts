// `npm run bench` for saved-cities: requests/s and latency of list and add against a real Postgres 15 (a private
// cluster from Debian's postgresql-15, as the integration tests use), measured with Debian's wrk. It prints
// figures and never fails on speed. Flags it shares with the weather-app's bench: --duration S, --connections N;
// the weather-app's other flags are accepted and ignored, since `npm run bench -- ...` passes them to every app.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { freePort, postgresAvailable, startPostgres } from '../support/postgres-server';

const run = promisify(execFile);
// Compiled to node_modules/.cache/saved-cities-bench/test/bench/: five levels below the app.
const APP = join(__dirname, '..', '..', '..', '..', '..');

interface WrkResult {
  requests: number;
  durationUs: number;
  errors: number;
  non2xx: number;
  p50Us: number;
  p99Us: number;
}

function flags(): { durationSeconds: number; connections: number } {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    options: { duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '20' } },
  });
  const whole = (flag: string, raw: unknown, max: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new Error(`--${flag} must be a whole number from 1 to ${max}, got "${String(raw)}"`);
    }
    return value;
  };
  return {
    durationSeconds: whole('duration', values.duration, 600),
    // The pool has DATABASE_POOL_MAX connections (10); more HTTP connections than that measure queueing.
    connections: Math.min(whole('connections', values.connections, 1000), 50),
  };
}

async function wrk(
  url: string,
  mode: 'list' | 'add',
  seconds: number,
  connections: number,
): Promise<WrkResult> {
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      '2',
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--latency',
      '-s',
      join(APP, 'test', 'bench', 'wrk-cities.lua'),
      url,
    ],
    { env: { PATH: process.env.PATH ?? '', MODE: mode }, maxBuffer: 16 * 1024 * 1024 },
  );
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('WRK_RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  return JSON.parse(line.slice('WRK_RESULT '.length)) as WrkResult;
}

async function main(): Promise<void> {
  const { durationSeconds, connections } = flags();
  if (!postgresAvailable()) return;
  const postgres = await startPostgres();
  let server: ReturnType<typeof spawn> | undefined;
  try {
    const url = postgres.url(await postgres.createDatabase());
    const env = { PATH: process.env.PATH ?? '', DATABASE_URL: url, NODE_ENV: 'production' };
    await run(process.execPath, [join(APP, 'dist', 'migrate.js')], { env });
    const port = await freePort();
    server = spawn(process.execPath, [join(APP, 'dist', 'server.js')], {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt += 1) {
      const ready = await fetch(`${base}/health/ready`).catch(() => undefined);
      if (ready?.ok) break;
      if (attempt > 600) throw new Error('saved-cities did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let i = 0; i < 50; i += 1) {
      await fetch(`${base}/api/users/bench-list/cities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `Seed ${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`,
        }),
      });
    }
    const rows: string[] = [];
    for (const mode of ['list', 'add'] as const) {
      const result = await wrk(base, mode, durationSeconds, connections);
      const perSecond = result.requests / (result.durationUs / 1e6);
      rows.push(
        `| ${mode === 'list' ? 'GET /api/users/{user}/cities?limit=20' : 'POST /api/users/{user}/cities (Idempotency-Key)'} | ${perSecond.toFixed(0)} | ${(result.p50Us / 1000).toFixed(2)} | ${(result.p99Us / 1000).toFixed(2)} | ${result.errors + result.non2xx} |`,
      );
    }
    process.stdout.write(
      `\nsaved-cities on Postgres 15 (local cluster, pool of 10), wrk -t2 -c${connections} -d${durationSeconds}s\n` +
        '| route | requests/s | p50 ms | p99 ms | errors + non-2xx |\n| --- | ---: | ---: | ---: | ---: |\n' +
        `${rows.join('\n')}\n`,
    );
  } finally {
    server?.kill('SIGTERM');
    await postgres.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `saved-cities bench failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
