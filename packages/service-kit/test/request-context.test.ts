import express from 'express';
import request from 'supertest';
import { createRequestLogger, HttpError, errorHandler } from '../src';
import { capturedLogger } from './support';

function appWithRequestLogger() {
  const captured = capturedLogger();
  const app = express();
  app.use(createRequestLogger(captured.logger));
  app.get('/ok', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/missing', (_req, res) => {
    res.status(404).json({});
  });
  app.get('/broken', () => {
    throw new HttpError(502, 'upstream broke', { type: 'upstream-broke', cause: 'HTTP 500 from upstream' });
  });
  app.get('/health/x', (_req, res) => {
    res.json({});
  });
  app.use(errorHandler({ logger: captured.logger, exposeStackTraces: false }));
  return { app, ...captured };
}

describe('createRequestLogger', () => {
  it('writes one line per request with the request, status and time, and the secret query values redacted', async () => {
    const { app, lines } = appWithRequestLogger();
    await request(app).get('/ok?city=Oslo&appid=k1-secret').set('x-request-id', 'req-1').expect(200);
    expect(lines()).toHaveLength(1);
    const line = JSON.parse(lines()[0] ?? '{}') as Record<string, unknown>;
    // pino-http's layout, key for key, so log queries written against it keep working.
    expect(Object.keys(line)).toEqual(['level', 'time', 'pid', 'req', 'res', 'responseTime', 'msg']);
    expect(line).toMatchObject({
      level: 'info',
      req: { id: 'req-1', method: 'GET', url: '/ok?city=Oslo&appid=[Redacted]' },
      res: { statusCode: 200 },
      msg: 'request completed',
    });
    expect(typeof line.responseTime).toBe('number');
    expect(lines()[0]).not.toContain('k1-secret');
  });

  it('logs 4xx as warn, an expected 5xx as ONE warn line with its problem and cause, and skips probes', async () => {
    const { app, records, lines } = appWithRequestLogger();
    await request(app).get('/missing').set('x-request-id', 'req-2').expect(404);
    await request(app).get('/broken').set('x-request-id', 'req-3').expect(502);
    await request(app).get('/health/x').expect(200);
    await request(app).get('/HEALTH/x').expect(200);
    const summary = records().map((r) => [r.level, r.msg, (r.req as { id?: string }).id]);
    expect(summary).toEqual([
      ['warn', 'request completed', 'req-2'],
      ['warn', 'request failed', 'req-3'],
    ]);
    expect(records()[1]).toMatchObject({
      res: { statusCode: 502 },
      problem: { type: 'upstream-broke', status: 502, cause: 'HTTP 500 from upstream' },
    });
    expect(records()[1]).not.toHaveProperty('err');
    expect(lines().join('\n')).not.toMatch(/"stack"|node_modules|"type":"Object"/);
  });
});
