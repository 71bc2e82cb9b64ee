import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { createServiceApp, HttpError, resolveVersionInfo } from '../src';
import { HELMET_OPTIONS } from '../src/security-headers';
import { capturedLogger, testHealth } from './support';

function buildApp({
  exposeStackTraces,
  secretKeys,
}: { exposeStackTraces?: boolean; secretKeys?: string[] } = {}) {
  const captured = capturedLogger('info', secretKeys);
  const health = testHealth();
  const version = resolveVersionInfo({
    env: {
      APP_VERSION: '1.2.3',
      GIT_COMMIT_SHA: 'a'.repeat(40),
      CONTENT_KEY: 'c0ffee00c0ffee00',
      BUILD_TIME: '2026-11-22T10:00:00Z',
    },
  });
  const app = createServiceApp({
    logger: captured.logger,
    health,
    version,
    exposeStackTraces,
    secretKeys,
    routes(app) {
      app.use(express.urlencoded({ extended: false, limit: '1kb' }));
      app.get('/api/teapot', () => {
        throw new HttpError(418, 'No coffee here.', { type: 'teapot', headers: { 'retry-after': '7' } });
      });
      app.get('/boom', () => {
        throw new Error('database password is hunter2');
      });
      app.post('/form', (req, res) => {
        res.json(req.body);
      });
      app.get('/api/data', (_req, res) => {
        res.json({ ok: true });
      });
      app.get('/api/items/:id', (req, res) => {
        res.json({ id: req.params.id });
      });
      app.post('/api/items', express.json({ limit: '1kb' }), (req, res) => {
        res.json(req.body);
      });
    },
  });
  return { app, health, ...captured };
}

describe('createServiceApp', () => {
  it('censors the service’s secretKeys in logged request URLs, besides the built-in names', async () => {
    const { app, lines } = buildApp({ secretKeys: ['OPENWEATHER_API_KEY'] });
    await request(app).get('/api/data?q=1&openweather_api_key=u1-secret&api-key=u2-secret').expect(200);
    expect(lines().join('\n')).not.toMatch(/u\d-secret/);
    expect(lines().join('\n')).toContain('openweather_api_key=[Redacted]');
  });

  it('serves /health in the IETF health+json format', async () => {
    const { app, health } = buildApp();
    health.register('upstream:reachability', () => ({ status: 'warn', output: 'slow' }));
    const res = await request(app).get('/health').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/health\+json/);
    expect(res.body).toMatchObject({
      status: 'warn',
      version: '1.2.3',
      releaseId: 'a'.repeat(40),
      checks: { 'upstream:reachability': [{ status: 'warn', output: 'slow' }] },
    });
  });

  it('turns /health and readiness to 503 on a failing check, but keeps liveness 200', async () => {
    const { app, health } = buildApp();
    health.register('disk', () => {
      throw new Error('disk full');
    });
    const res = await request(app).get('/health').expect(503);
    expect(res.body.checks.disk[0]).toMatchObject({ status: 'fail', output: 'disk full' });
    await request(app).get('/health/ready').expect(503);
    await request(app).get('/health/live').expect(200);
  });

  // The orchestrators' contract (ci-templates/README.md, "Probes"): a warn check (an upstream the app rides out)
  // keeps the instance in rotation; only fail takes it out. A Kubernetes readinessProbe or the image HEALTHCHECK
  // that treated warn as down would pull every replica when the upstream hiccups.
  it.each([
    ['warn', 200],
    ['fail', 503],
  ] as const)('answers /health and /health/ready %s with %i, and liveness 200', async (status, code) => {
    const { app, health } = buildApp();
    health.register('upstream:responses', () => ({ status, output: 'HTTP 500 from upstream' }));
    const full = await request(app).get('/health').expect(code);
    expect(full.body.status).toBe(status);
    const ready = await request(app).get('/health/ready').expect(code);
    expect(ready.body.status).toBe(status);
    await request(app).get('/health/live').expect(200);
  });

  it('turns readiness to 503 as soon as shutdown starts', async () => {
    const { app, health } = buildApp();
    await request(app).get('/health/ready').expect(200, { status: 'pass' });
    health.markShuttingDown();
    const res = await request(app).get('/health/ready').expect(503);
    expect(res.body.status).toBe('fail');
    await request(app).get('/health/live').expect(200);
  });

  it('answers probes ahead of helmet and the request logger, with nosniff and no-store only', async () => {
    const { app, records } = buildApp();
    for (const path of ['/health', '/health/live', '/health/ready']) {
      const res = await request(app).get(path).expect(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toBeUndefined();
      expect(res.headers['x-request-id']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    expect(records()).toEqual([]);
    // Everything else still passes through helmet and the request logger.
    const other = await request(app).get('/health-check-lookalike').expect(404);
    expect(other.headers['content-security-policy']).toContain("default-src 'self'");
    expect(other.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves /version from build metadata', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/version').expect(200);
    expect(res.body).toEqual({
      version: '1.2.3',
      commit: 'a'.repeat(40),
      contentKey: 'c0ffee00c0ffee00',
      buildTime: '2026-11-22T10:00:00Z',
      node: process.version,
    });
  });

  it('echoes a sane x-request-id, replaces an unsafe one, and logs it', async () => {
    const { app, records } = buildApp();
    const given = await request(app).get('/api/data').set('x-request-id', 'abc-123').expect(200);
    expect(given.headers['x-request-id']).toBe('abc-123');
    const unsafe = await request(app).get('/api/data').set('x-request-id', '<script>').expect(200);
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const generated = await request(app).get('/api/data').expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(records().some((r) => (r.req as { id?: string } | undefined)?.id === 'abc-123')).toBe(true);
  });

  it('sets helmet headers, hides x-powered-by and sends no etag on API JSON', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/api/data').expect(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['strict-transport-security']).toBeDefined();
  });

  it('answers unknown API routes with RFC 9457 problem+json and unknown pages with HTML', async () => {
    const { app } = buildApp();
    const api = await request(app).get('/api/nope?x=1').expect(404);
    expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(api.body).toMatchObject({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      instance: '/api/nope',
    });
    expect(api.body.requestId).toEqual(api.headers['x-request-id']);
    const page = await request(app).get('/nope').set('accept', 'text/html').expect(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<h1>Not Found</h1>');
  });

  it('maps HttpError to its status, type and headers', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/api/teapot').expect(418);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body).toMatchObject({ type: 'tag:slipway,2026:problem:teapot', detail: 'No coffee here.' });
  });

  it('hides internals of unexpected errors by default, and logs each once, at error level, with its stack', async () => {
    const { app, records } = buildApp();
    for (const accept of ['application/json', 'text/html']) {
      const res = await request(app).get('/boom').set('accept', accept).expect(500);
      expect(res.text).toContain('Something went wrong on our side.');
      expect(res.text).not.toContain('hunter2');
      expect(res.text).not.toContain('service-app.test.ts');
    }
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ['error', 'request errored'],
      ['error', 'request errored'],
    ]);
    expect(records()[0]?.err).toMatchObject({ message: 'database password is hunter2' });
    expect(String((records()[0]?.err as { stack?: string }).stack)).toContain('service-app.test.ts');
  });

  it('shows the stack to clients only when exposeStackTraces is set', async () => {
    const { app } = buildApp({ exposeStackTraces: true });
    const res = await request(app).get('/boom').set('accept', 'application/json').expect(500);
    expect(res.body.detail).toContain('service-app.test.ts');
  });

  it('answers problem+json under /api in any letter case, as Express routes it', async () => {
    const { app } = buildApp();
    for (const path of ['/api/teapot', '/API/teapot', '/Api/Teapot']) {
      const res = await request(app).get(path).set('accept', 'text/html').expect(418);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const missing = await request(app).get('/API/nothing').set('accept', 'text/html').expect(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('turns body-parser client errors into clear 4xx answers', async () => {
    const { app } = buildApp();
    const res = await request(app)
      .post('/form')
      .set('accept', 'application/json')
      .type('form')
      .send(`city=${'x'.repeat(2000)}`)
      .expect(413);
    expect(res.body).toMatchObject({
      type: 'tag:slipway,2026:problem:body-too-large',
      status: 413,
      title: 'Content Too Large',
      detail: 'The request body may have at most 1024 bytes.',
    });
  });

  it.each(['/api/items/%ZZ', '/api/items/%C0%AF', '/api/items/a%E0%A4%A'])(
    'answers a malformed %%-encoding in a path parameter (%s) with 400 invalid-request, logged at warn without a stack',
    async (path) => {
      const { app, records } = buildApp();
      const res = await request(app).get(path).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        type: 'tag:slipway,2026:problem:invalid-request',
        status: 400,
        detail: 'The request path has a malformed %-encoding.',
      });
      const line = records().find((r) => (r.res as { statusCode?: number } | undefined)?.statusCode === 400);
      expect(line).toMatchObject({ level: 'warn', problem: { type: 'invalid-request', status: 400 } });
      expect(JSON.stringify(records())).not.toMatch(/"stack"|"level":"error"/);
    },
  );

  it('answers malformed JSON with 400 invalid-request, never JSON.parse’s text (it quotes the body)', async () => {
    const { app, records } = buildApp();
    const res = await request(app).post('/api/items').type('json').send('{"password": "hunter2"').expect(400);
    expect(res.body).toMatchObject({
      type: 'tag:slipway,2026:problem:invalid-request',
      title: 'Bad Request',
      detail: 'The request body is malformed: it does not parse as its Content-Type.',
    });
    expect(JSON.stringify(res.body) + JSON.stringify(records())).not.toContain('hunter2');
    expect(records().at(-1)).toMatchObject({ level: 'warn', problem: { cause: 'entity.parse.failed' } });
  });

  it('answers a chunked body over the limit with the same 413 body-too-large as a declared one', async () => {
    const { app } = buildApp();
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      // No Content-Length: Node sends the body chunked, so body-parser, not the chassis's guard, refuses it.
      const chunked = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            port,
            host: '127.0.0.1',
            method: 'POST',
            path: '/api/items',
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += String(chunk)));
            res.on('end', () => resolve({ status: res.statusCode, body }));
          },
        );
        req.on('error', reject);
        req.write('{"x":"');
        req.end(`${'y'.repeat(4000)}"}`);
      });
      expect(chunked.status).toBe(413);
      const declared = await request(app)
        .post('/api/items')
        .type('json')
        .send(JSON.stringify({ x: 'y'.repeat(4000) }))
        .expect(413);
      const problem = JSON.parse(chunked.body) as Record<string, unknown>;
      expect(problem).toMatchObject({
        type: 'tag:slipway,2026:problem:body-too-large',
        title: 'Content Too Large',
        detail: 'The request body may have at most 1024 bytes.',
      });
      expect(declared.body).toMatchObject({
        type: problem.type,
        title: problem.title,
        detail: problem.detail,
      });
    } finally {
      server.close();
    }
  });

  it('answers an unsupported body charset with 415 unsupported-media-type', async () => {
    const { app } = buildApp();
    const res = await request(app)
      .post('/api/items')
      .set('content-type', 'application/json; charset=x-unknown')
      .send('{}')
      .expect(415);
    expect(res.body).toMatchObject({ type: 'tag:slipway,2026:problem:unsupported-media-type' });
  });
});

describe('security headers', () => {
  it('never asks browsers to upgrade requests to https, so a form works over plain HTTP on any host', async () => {
    const res = await request(buildApp().app).get('/api/data').set('host', 'weather.test:8080').expect(200);
    const csp = res.headers['content-security-policy'] ?? '';
    expect(csp).not.toMatch(/upgrade-insecure-requests/i);
    // The rest of helmet's policy stays: forms post only to this origin, and HSTS upgrades once served over TLS.
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });

  it('sends exactly the headers helmet itself sends for the same request and options', async () => {
    const helmetOnly = express();
    helmetOnly.disable('x-powered-by');
    helmetOnly.set('etag', false);
    helmetOnly.use(helmet(HELMET_OPTIONS));
    helmetOnly.get('/api/data', (_req, res) => {
      res.json({ ok: true });
    });
    const fromHelmet = await request(helmetOnly).get('/api/data').expect(200);
    const fromChassis = await request(buildApp().app).get('/api/data').expect(200);
    const chassisOnly = new Set(['x-request-id']);
    const withoutVolatile = (headers: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(headers).filter(([name]) => name !== 'date' && !chassisOnly.has(name)),
      );
    expect(withoutVolatile(fromChassis.headers)).toEqual(withoutVolatile(fromHelmet.headers));
    expect(fromChassis.headers['content-security-policy']).toBe(
      fromHelmet.headers['content-security-policy'],
    );
    expect(Object.keys(fromHelmet.headers).length).toBeGreaterThan(12);
    // Same names on the wire too, casing included (supertest's headers object lowercases them).
    const rawNames = (res: request.Response) =>
      (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders.filter((_v, i) => i % 2 === 0);
    expect(rawNames(fromChassis)).toEqual(
      expect.arrayContaining(
        rawNames(fromHelmet).filter((n) => /^(X|Cross|Content-Security|Origin|Referrer|Strict)/.test(n)),
      ),
    );
    expect(rawNames(fromHelmet)).toContain('Content-Security-Policy');
  });
});
