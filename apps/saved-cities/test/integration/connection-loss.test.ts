// Issue 16, the Postgres half: a real Postgres 15 that ends sessions under the pool, by idle_session_timeout
// and by pg_terminate_backend from another session. Reads and keyed writes must see 0 errors, and the process
// must never stop on the pool's 'error' event.
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { createLogger } from '@slipway/service-kit';
import request from 'supertest';
import { postgresAvailable, startPostgres, APP_ROLE, type PostgresServer } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function capturingLogger() {
  const lines: Array<{ msg?: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', name: 'connection-loss-test', destination }), lines };
}

async function burst(send: () => Promise<{ status: number }>, count: number): Promise<number[]> {
  return (await Promise.all(Array.from({ length: count }, send))).map((res) => res.status);
}

const describeWithPostgres = postgresAvailable() ? describe : describe.skip;

describeWithPostgres('pooled Postgres connections the server closes', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  async function appWithCities(options: { idleSessionTimeoutMs?: number } = {}) {
    const database = await server.createDatabase();
    const { logger, lines } = capturingLogger();
    // The pool keeps idle connections 10 s; the server ends them first, as PgBouncer or a cloud proxy would.
    const t = await createTestApp({ url: server.url(database), logger, poolMax: 5, idleTimeoutMs: 10_000 });
    for (const name of ['Oslo', 'Lima', 'Quito']) {
      await request(t.app)
        .post('/api/users/u/cities')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ name }))
        .expect(201);
    }
    if (options.idleSessionTimeoutMs) {
      const admin = await server.admin();
      await admin.query(
        `ALTER ROLE ${APP_ROLE} IN DATABASE ${database} SET idle_session_timeout = '${options.idleSessionTimeoutMs}ms'`,
      );
      await admin.end();
      // Connections opened before the setting keep the old value: start from a fresh pool.
      await server.terminateAppSessions();
      await sleep(50);
    }
    return { t, lines };
  }

  const list = (t: TestApp) => () => request(t.app).get('/api/users/u/cities?limit=2');

  it('idle_session_timeout: bursts after the server closed every idle connection get 0 errors', async () => {
    const { t, lines } = await appWithCities({ idleSessionTimeoutMs: 300 });
    try {
      const statuses: number[] = [];
      for (let round = 0; round < 6; round += 1) {
        statuses.push(...(await burst(list(t), 20)));
        // Past the server's 300 ms: every pooled connection has been ended while idle.
        await sleep(450);
      }
      // Requests spaced around the server's timeout, where a reused connection races its own termination.
      for (let i = 0; i < 30; i += 1) {
        statuses.push((await list(t)()).status);
        await sleep(297 + (i % 9));
      }
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      // The server really did end sessions under the pool, and the pool's error handler saw it.
      expect(lines.some((line) => /closed an idle pooled connection/.test(line.msg ?? ''))).toBe(true);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('pg_terminate_backend between requests: reads and keyed adds get 0 errors', async () => {
    const { t } = await appWithCities();
    try {
      const statuses: number[] = [];
      let terminated = 0;
      for (let round = 0; round < 8; round += 1) {
        statuses.push(...(await burst(list(t), 15)));
        terminated += await server.terminateAppSessions();
        statuses.push(...(await burst(list(t), 15)));
        terminated += await server.terminateAppSessions();
        const key = `round-${round}`;
        const adds = await burst(
          () =>
            request(t.app)
              .post('/api/users/u/cities')
              .set('content-type', 'application/json')
              .set('idempotency-key', key)
              .send(JSON.stringify({ name: `Town ${String.fromCharCode(65 + round)}` })),
          3,
        );
        expect(adds).toEqual([201, 201, 201]);
      }
      expect(terminated).toBeGreaterThan(8);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      const all = await request(t.app).get('/api/users/u/cities?limit=100').expect(200);
      expect(all.body.items).toHaveLength(3 + 8);
    } finally {
      await t.close();
    }
  }, 60_000);

  describe('the server process (node dist/server.js)', () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill('SIGKILL');
      child = undefined;
    });

    it('keeps running and serving while its sessions are terminated again and again', async () => {
      const database = await server.createDatabase();
      const url = server.url(database);
      const app = join(__dirname, '..', '..', 'dist');
      await new Promise<void>((resolve, reject) => {
        const migrate = spawn(process.execPath, [join(app, 'migrate.js')], {
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: url, LOG_LEVEL: 'warn' },
          stdio: 'ignore',
        });
        migrate.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`migrate exited ${code}`))));
      });
      child = spawn(process.execPath, [join(app, 'server.js')], {
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: url,
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let exited: number | null | undefined;
      child.on('exit', (code) => (exited = code));
      let output = '';
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
        child?.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child?.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      });
      const statuses: number[] = [];
      for (let round = 0; round < 6; round += 1) {
        statuses.push(...(await burst(() => request(base).get('/api/users/u/cities'), 10)));
        await server.terminateAppSessions();
        // Let the FATAL reach idle clients, so the pool's 'error' event fires while nobody holds them.
        await sleep(100);
      }
      statuses.push((await request(base).get('/health/ready')).status);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      expect(exited).toBeUndefined();
      expect(output).toMatch(/closed an idle pooled connection/);
    }, 60_000);
  });
});
