// The same API contract as the PGlite tests, plus what only a real server shows: the migrate step as its own
// process, a server that refuses a schema behind its version, and health when the database is unreachable.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { MIGRATIONS, schemaStatus } from '../../src/database';
import { describeCitiesApi } from '../support/api-contract';
import {
  postgresAvailable,
  startPostgres,
  unreachableUrl,
  type PostgresServer,
} from '../support/postgres-server';
import { createTestApp } from '../support/test-app';

// Every migration this version knows, so adding one needs no edit here.
const ALL_MIGRATIONS = MIGRATIONS.map((migration) => migration.name);

const APP_DIR = join(__dirname, '..', '..');
const NODE = process.execPath;

function runNode(script: string, env: Record<string, string>, timeoutMs = 15_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(NODE, [join(APP_DIR, 'dist', script)], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const describeWithPostgres = postgresAvailable() ? describe : describe.skip;

describeWithPostgres('saved-cities on a real Postgres 15', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  describeCitiesApi('Postgres 15', async () =>
    createTestApp({ url: server.url(await server.createDatabase()) }),
  );

  describe('the migrate step (npm run migrate)', () => {
    it('applies every migration once, as its own process, and a second run has nothing to do', async () => {
      const url = server.url(await server.createDatabase());
      const first = await runNode('migrate.js', { DATABASE_URL: url });
      expect(first.stderr).toBe('');
      expect(first).toMatchObject({
        code: 0,
        stdout: `applied ${MIGRATIONS.length} migration(s): ${ALL_MIGRATIONS.join(', ')}\n`,
      });
      const second = await runNode('migrate.js', { DATABASE_URL: url });
      expect(second).toMatchObject({ code: 0, stdout: 'schema is current: no migration to apply\n' });
      const t = await createTestApp({ url, migrate: false });
      try {
        expect(await schemaStatus(t.database)).toEqual({ pending: [], unknown: [] });
      } finally {
        await t.close();
      }
    });

    it('runs once when two migrate steps race (advisory lock)', async () => {
      const url = server.url(await server.createDatabase());
      const results = await Promise.all([1, 2, 3].map(() => runNode('migrate.js', { DATABASE_URL: url })));
      expect(results.map((result) => result.code)).toEqual([0, 0, 0]);
      expect(
        results.filter((result) => result.stdout.startsWith(`applied ${MIGRATIONS.length} migration(s)`)),
      ).toHaveLength(1);
    });

    it('names the variable, not its value, for a bad DATABASE_URL, and exits 2', async () => {
      const result = await runNode('migrate.js', { DATABASE_URL: 'mysql://user:hunter2-secret@db/x' });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// connection URL\n',
      );
      expect(result.stderr + result.stdout).not.toContain('hunter2');
    });

    it('fails with exit 1 and no password in the output when the database refuses the login', async () => {
      const url = server.url(await server.createDatabase()).replace(/:[^:@]+@/, ':wrong-password-xyz@');
      const result = await runNode('migrate.js', { DATABASE_URL: url });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^migrate failed: password authentication failed/);
      expect(result.stderr + result.stdout).not.toContain('wrong-password-xyz');
    });
  });

  it('the server refuses to serve on a schema behind its version, naming the migrate step', async () => {
    const url = server.url(await server.createDatabase());
    const result = await runNode('server.js', { DATABASE_URL: url, PORT: '0', HOST: '127.0.0.1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `saved-cities refuses to serve: the database schema is behind this version (pending migrations: ${ALL_MIGRATIONS.join(', ')}); run the migrate step first (npm run migrate)`,
    );
  });

  it('/health and readiness fail, naming Postgres, when it is unreachable; liveness stays 200', async () => {
    const url = await unreachableUrl();
    const t = await createTestApp({ url, migrate: false });
    try {
      const health = await request(t.app).get('/health').expect(503);
      expect(health.body.status).toBe('fail');
      expect(health.body.checks['postgres:connection'][0]).toMatchObject({
        status: 'fail',
        componentType: 'datastore',
        output: expect.stringMatching(/^Postgres is unreachable: .*ECONNREFUSED/),
      });
      const ready = await request(t.app).get('/health/ready').expect(503);
      expect(JSON.stringify(ready.body)).toContain('Postgres is unreachable');
      await request(t.app).get('/health/live').expect(200);
      const api = await request(t.app).get('/api/users/u/cities').expect(503);
      expect(api.body.type).toBe('tag:slipway,2026:problem:database-unavailable');
      expect(JSON.stringify(health.body)).not.toContain('cities-app-test-password');
    } finally {
      await t.close();
    }
  }, 30_000);
});
