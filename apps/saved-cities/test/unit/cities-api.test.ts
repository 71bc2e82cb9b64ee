import request from 'supertest';
import { MIGRATIONS } from '../../src/database';
import { describeCitiesApi } from '../support/api-contract';
import { createTestApp } from '../support/test-app';

// Each PGlite instance compiles its WebAssembly: seconds when quiet, much longer on a busy CI host.
const PGLITE_TIMEOUT_MS = 180_000;

describeCitiesApi('the embedded PGlite', () => createTestApp());

describe('the embedded default says so', () => {
  it(
    'in every API answer, in a header and in /health',
    async () => {
      const t = await createTestApp();
      try {
        const list = await request(t.app).get('/api/users/u/cities').expect(200);
        expect(list.headers['x-database']).toBe('embedded');
        expect(list.body.notice).toMatch(/embedded in-memory PGlite database: saved cities are lost/);
        const added = await request(t.app)
          .post('/api/users/u/cities')
          .set('content-type', 'application/json')
          .send('{"name":"Rome"}')
          .expect(201);
        expect(added.body.notice).toMatch(/set DATABASE_URL to use Postgres/);
        const health = await request(t.app).get('/health').expect(200);
        expect(health.body.checks['pglite:connection'][0]).toMatchObject({
          status: 'pass',
          componentType: 'datastore',
          output: expect.stringMatching(/embedded in-memory PGlite/),
        });
      } finally {
        await t.close();
      }
    },
    PGLITE_TIMEOUT_MS,
  );
});

describe('the schema gate', () => {
  it(
    'answers 503 and fails readiness until the schema is current; liveness stays 200',
    async () => {
      const t = await createTestApp({ migrate: false });
      try {
        expect(t.schema.state).toEqual({
          kind: 'behind',
          pending: MIGRATIONS.map((migration) => migration.name),
        });
        const api = await request(t.app).get('/api/users/u/cities').expect(503);
        expect(api.body.type).toBe('tag:slipway,2026:problem:database-unavailable');
        const ready = await request(t.app).get('/health/ready').expect(503);
        expect(JSON.stringify(ready.body.checks)).toMatch(
          /schema is behind this version; run the migrate step/,
        );
        await request(t.app).get('/health/live').expect(200);
      } finally {
        await t.close();
      }
    },
    PGLITE_TIMEOUT_MS,
  );
});
