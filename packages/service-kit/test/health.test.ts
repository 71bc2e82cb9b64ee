import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import express from 'express';
import request from 'supertest';
import { createServiceApp, HealthRegistry, healthRouter, resolveVersionInfo, startServer } from '../src';
import { probeKindOf, type CheckResult } from '../src/health';
import { capturedLogger, testHealth } from './support';

type Reply = { status: number; headers: IncomingHttpHeaders; body: string };

/** A raw request, so the target is sent exactly as written (absolute-form included). */
function send(url: string, target: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, path: target }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function bodyOf(health: HealthRegistry, kind: 'full' | 'ready' | 'live') {
  const answer = await health.answer(kind);
  return { statusCode: answer.statusCode, body: JSON.parse(answer.body) as Record<string, unknown> };
}

describe('HealthRegistry', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reports the worst status, each result with the time it was read', async () => {
    jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-29T12:00:00.123Z'));
    const health = new HealthRegistry({ version: '1.2.3', releaseId: 'r', serviceId: 'svc' });
    health.register('a', () => ({ status: 'pass', componentType: 'component' }));
    health.register('b', async () => ({ status: 'warn', output: 'slow', time: '2026-11-29T11:59:00.000Z' }));
    await expect(health.report()).resolves.toEqual({
      status: 'warn',
      version: '1.2.3',
      releaseId: 'r',
      serviceId: 'svc',
      checks: {
        a: [{ status: 'pass', componentType: 'component', time: '2026-11-29T12:00:00.123Z' }],
        b: [{ status: 'warn', output: 'slow', time: '2026-11-29T11:59:00.000Z' }],
      },
    });
  });

  it('turns a throwing, rejecting or status-less check into a fail that says why', async () => {
    const health = testHealth();
    health.register('throws', () => {
      throw new Error('disk full');
    });
    health.register('rejects', () => Promise.reject(new Error('connection refused')));
    health.register('garbage', () => ({ status: 'ok' }) as unknown as CheckResult);
    health.register('nothing', () => undefined as unknown as CheckResult);
    const report = await health.report();
    expect(report.status).toBe('fail');
    expect(report.checks.throws![0]).toMatchObject({ status: 'fail', output: 'disk full' });
    expect(report.checks.rejects![0]).toMatchObject({ status: 'fail', output: 'connection refused' });
    for (const name of ['garbage', 'nothing'])
      expect(report.checks[name]![0]).toMatchObject({
        status: 'fail',
        output: 'the check returned no pass, warn or fail status',
      });
  });

  it('replaces a check registered again under the same name, in its place', async () => {
    const health = testHealth();
    health.register('db', () => ({ status: 'fail' }));
    health.register('queue', () => ({ status: 'pass' }));
    health.register('db', () => ({ status: 'pass' }));
    const report = await health.report();
    expect(Object.keys(report.checks)).toEqual(['db', 'queue']);
    expect(report.status).toBe('pass');
  });

  it('answers a report JSON cannot hold as a readable fail, not a broken probe', async () => {
    const health = testHealth();
    health.register('counter', () => ({ status: 'pass', observedValue: 10n }));
    const { statusCode, body } = await bodyOf(health, 'full');
    expect(statusCode).toBe(503);
    expect(body).toEqual({
      status: 'fail',
      output: expect.stringMatching(/^the health report cannot be serialized: .*BigInt/) as unknown,
    });
  });

  // Coalescing: a burst of probes during a slow database ping costs one ping, and nothing outlives the run.
  it('shares one run of an asynchronous check among the probes that arrive while it runs', async () => {
    const health = testHealth();
    const pings: Array<ReturnType<typeof deferred<CheckResult>>> = [];
    health.register('db', () => {
      const ping = deferred<CheckResult>();
      pings.push(ping);
      return ping.promise;
    });
    const during = [health.report(), health.answer('full'), health.answer('ready'), health.report()];
    expect(pings).toHaveLength(1);
    pings[0]!.resolve({ status: 'warn', output: 'slow ping' });
    const [report, full, ready] = await Promise.all(during);
    expect(report).toMatchObject({ status: 'warn', checks: { db: [{ output: 'slow ping' }] } });
    expect(JSON.parse((full as { body: string }).body)).toMatchObject({ status: 'warn' });
    expect(JSON.parse((ready as { body: string }).body)).toEqual({ status: 'warn' });

    // The next probe after the run settled runs the check again and sees its new result.
    const after = health.report();
    expect(pings).toHaveLength(2);
    pings[1]!.resolve({ status: 'pass' });
    await expect(after).resolves.toMatchObject({ status: 'pass' });
  });

  describe('answers', () => {
    it('reuses the serialized answer only for the same readings in the same millisecond', async () => {
      const now = jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-29T12:00:00.000Z'));
      const health = testHealth();
      let result: CheckResult = { status: 'warn', output: 'HTTP 500 from upstream' };
      health.register('upstream:responses', () => result);

      const first = await health.answer('full');
      expect(await health.answer('full')).toBe(first);

      // The upstream answers again: the very next probe says pass, in the same millisecond.
      result = { status: 'pass' };
      const cleared = await health.answer('full');
      expect(cleared).not.toBe(first);
      expect(JSON.parse(cleared.body)).toMatchObject({ status: 'pass' });

      // A new millisecond is a new reading time, so a new body.
      now.mockReturnValue(Date.parse('2026-11-29T12:00:00.001Z'));
      const later = await health.answer('full');
      expect(later).not.toBe(cleared);
      expect(JSON.parse(later.body)).toMatchObject({
        checks: { 'upstream:responses': [{ time: '2026-11-29T12:00:00.001Z' }] },
      });
    });

    it('turns readiness 503 at once when shutdown begins, even within the same millisecond', async () => {
      jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-29T12:00:00.000Z'));
      const health = testHealth();
      health.register('db', () => ({ status: 'pass' }));
      expect(await bodyOf(health, 'ready')).toEqual({ statusCode: 200, body: { status: 'pass' } });
      health.markShuttingDown();
      const ready = await bodyOf(health, 'ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'fail',
        checks: { 'process:shutdown': [{ status: 'fail', output: 'shutting down' }] },
      });
      expect(await bodyOf(health, 'live')).toEqual({ statusCode: 200, body: { status: 'pass' } });
    });

    it('sees a check result that changes in place, field by field', async () => {
      jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-29T12:00:00.000Z'));
      const health = testHealth();
      const result: CheckResult = { status: 'pass', observedValue: 1 };
      health.register('queue', () => result);
      expect((await bodyOf(health, 'full')).body).toMatchObject({
        checks: { queue: [{ observedValue: 1 }] },
      });
      result.observedValue = 2;
      expect((await bodyOf(health, 'full')).body).toMatchObject({
        checks: { queue: [{ observedValue: 2 }] },
      });
      result.observedUnit = 'jobs';
      expect((await bodyOf(health, 'full')).body).toMatchObject({
        checks: { queue: [{ observedValue: 2, observedUnit: 'jobs' }] },
      });
      const usage = { used: 1, total: 10 };
      result.observedValue = usage;
      expect((await bodyOf(health, 'full')).body).toMatchObject({
        checks: { queue: [{ observedValue: usage }] },
      });
      usage.used = 9;
      expect((await bodyOf(health, 'full')).body).toMatchObject({
        checks: { queue: [{ observedValue: { used: 9, total: 10 } }] },
      });
    });
  });
});

describe('probeKindOf', () => {
  // The spellings Express's router (case-insensitive, one optional trailing slash, any query) matches for the
  // probes' routes, and lookalikes it does not.
  const targets = [
    '/health',
    '/HEALTH',
    '/Health/',
    '/health?full=1',
    '/health/?',
    '/health/live',
    '/health/LIVE/',
    '/health/live?x=/health',
    '/health/ready',
    '/HEALTH/READY/?a=b',
    '/health//',
    '/health/live//',
    '/healthz',
    '/health/x',
    '/health/readyz',
    '/health.json',
    '/h',
    '/',
    '/api/health',
    '/%68ealth',
    '/health%2F',
  ];

  it('claims exactly the targets Express routes to the probes', async () => {
    const app = express();
    app.use(healthRouter(testHealth()));
    for (const target of targets) {
      const viaExpress = await request(app).get(target);
      expect([target, probeKindOf(target) !== undefined]).toEqual([target, viaExpress.status === 200]);
    }
  });

  it('names which probe', () => {
    expect(['/HEALTH/', '/health/Live', '/health/ready?x'].map(probeKindOf)).toEqual([
      'full',
      'live',
      'ready',
    ]);
  });
});

describe('probes answered by startServer ahead of the app', () => {
  async function start() {
    const { logger, records } = capturedLogger();
    const health = testHealth();
    // A fixed time, so the bodies the server and Express give can be compared whole.
    health.register('upstream:responses', () => ({
      status: 'warn',
      output: 'slow',
      time: '2026-11-29T12:00:00.000Z',
    }));
    const app = createServiceApp({
      logger,
      health,
      version: resolveVersionInfo({ env: {} }),
      routes: (app) => app.get('/health/details', (_req, res) => res.json({ mounted: 'by the service' })),
    });
    const reachedApp: string[] = [];
    const running = await startServer(
      (req, res) => {
        reachedApp.push(`${req.method} ${req.url}`);
        app(req, res);
      },
      {
        port: 0,
        host: '127.0.0.1',
        logger,
        health,
        shutdownTimeoutMs: 5000,
        drainDelayMs: 0,
        signals: [],
        exit: () => undefined,
      },
    );
    return { app, health, running, reachedApp, records };
  }

  it('gives the answers Express gives, without reaching the app, helmet or the request log', async () => {
    const { app, running, reachedApp, records } = await start();
    try {
      for (const target of ['/health', '/HEALTH/', '/health?probe=1', '/health/live', '/health/ready/']) {
        const fromServer = await send(running.url, target);
        const fromExpress = await request(app).get(target);
        expect([target, fromServer.status, JSON.parse(fromServer.body)]).toEqual([
          target,
          fromExpress.status,
          fromExpress.body,
        ]);
        for (const header of ['content-type', 'cache-control', 'x-content-type-options', 'content-length'])
          expect([target, header, fromServer.headers[header]]).toEqual([
            target,
            header,
            fromExpress.headers[header],
          ]);
        expect(fromServer.headers['content-type']).toBe('application/health+json; charset=utf-8');
        expect(fromServer.headers['content-security-policy']).toBeUndefined();
        expect(fromServer.headers['x-request-id']).toBeUndefined();
      }
      const head = await send(running.url, '/health', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
      expect(reachedApp).toEqual([]);
      expect(records().filter((record) => record.req)).toEqual([]);
    } finally {
      await running.shutdown('test');
    }
  });

  it('passes every other request to the app: other methods, other paths, an absolute-form target', async () => {
    const { running, reachedApp, records } = await start();
    try {
      const post = await send(running.url, '/health', 'POST');
      expect(post.status).toBe(404);
      expect(post.headers['content-security-policy']).toContain("default-src 'self'");
      expect(post.headers['x-request-id']).toBeDefined();

      const mounted = await send(running.url, '/health/details');
      expect(JSON.parse(mounted.body)).toEqual({ mounted: 'by the service' });

      // Express's own health routes answer the spellings the server leaves to it.
      const absolute = await send(running.url, `${running.url}/health/live`);
      expect(absolute.status).toBe(200);
      expect(JSON.parse(absolute.body)).toEqual({ status: 'pass' });

      const elsewhere = await send(running.url, '/healthz');
      expect(elsewhere.status).toBe(404);

      expect(reachedApp).toEqual([
        'POST /health',
        'GET /health/details',
        `GET ${running.url}/health/live`,
        'GET /healthz',
      ]);
      // The app's routes are logged as ever, with their request ids (paths under /health excepted, as before).
      const logged = records().flatMap((record) => (record.req ? [record.req] : []));
      expect(logged).toEqual([{ id: elsewhere.headers['x-request-id'], method: 'GET', url: '/healthz' }]);
    } finally {
      await running.shutdown('test');
    }
  });

  it('answers readiness 503 with Connection: close once shutdown begins', async () => {
    const { health, running } = await start();
    health.markShuttingDown();
    try {
      const ready = await send(running.url, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.headers.connection).toBe('close');
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'fail' });
      expect((await send(running.url, '/health/live')).status).toBe(200);
    } finally {
      await running.shutdown('test');
    }
  });
});
