import { request as httpRequest, Agent } from 'node:http';
import express from 'express';
import {
  ConfigError,
  createServiceApp,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  resolveVersionInfo,
  startServer,
} from '../src';
import { capturedLogger, testHealth } from './support';

type Reply = { status: number; body: string; headers: Record<string, unknown> };

function get(url: string, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startTestServer(shutdownTimeoutMs = 5000) {
  const { logger, lines } = capturedLogger();
  const health = testHealth();
  const exits: number[] = [];
  let markSlowStarted!: () => void;
  let releaseSlow!: () => void;
  const slowStarted = new Promise<void>((resolve) => (markSlowStarted = resolve));
  const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
  const app = createServiceApp({
    logger,
    health,
    version: resolveVersionInfo({ env: {} }),
    routes(app: express.Express) {
      app.get('/slow', async (_req, res) => {
        markSlowStarted();
        await slowReleased;
        res.json({ finished: true });
      });
    },
  });
  const running = await startServer(app, {
    port: 0,
    host: '127.0.0.1',
    logger,
    health,
    shutdownTimeoutMs,
    drainDelayMs: 0,
    signals: [],
    exit: (code) => exits.push(code),
  });
  return { running, health, exits, lines, slowStarted, releaseSlow };
}

describe('startServer', () => {
  it('keeps idle connections open longer than load balancers do', async () => {
    const { running } = await startTestServer();
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThanOrEqual(61_000);
    expect(running.server.keepAliveTimeout).toBe(KEEP_ALIVE_TIMEOUT_MS);
    expect(running.server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
    expect(HEADERS_TIMEOUT_MS).toBeGreaterThan(KEEP_ALIVE_TIMEOUT_MS);
    await running.shutdown('test');
  });

  it('drains: readiness 503 first, in-flight requests finish, idle keep-alive sockets close, exit 0', async () => {
    const t = await startTestServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    // An idle keep-alive connection that must not hold shutdown open for 65 s.
    expect((await get(`${t.running.url}/health/ready`, agent)).status).toBe(200);

    const inFlight = get(`${t.running.url}/slow`, agent);
    await t.slowStarted;
    const shutdown = t.running.shutdown('SIGTERM');

    expect(t.health.isShuttingDown).toBe(true);
    // New connections are refused once the listener has closed.
    await expect(get(`${t.running.url}/health/live`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    t.releaseSlow();
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ finished: true });
    expect(reply.headers.connection).toBe('close');

    await expect(shutdown).resolves.toBe(0);
    expect(t.exits).toEqual([0]);
    expect(t.lines().join('\n')).toContain('shutdown: all connections closed');
    agent.destroy();
  });

  it('forces exit 1 when in-flight work outlives the deadline', async () => {
    const t = await startTestServer(300);
    const inFlight = get(`${t.running.url}/slow`).catch((error: NodeJS.ErrnoException) => error.code);
    await t.slowStarted;
    await expect(t.running.shutdown('SIGTERM')).resolves.toBe(1);
    expect(t.exits).toEqual([1]);
    expect(await inFlight).toBe('ECONNRESET');
    expect(t.lines().join('\n')).toContain('deadline passed');
  });

  it('runs the shutdown sequence once however many signals arrive', async () => {
    const t = await startTestServer();
    const [a, b] = await Promise.all([t.running.shutdown('SIGTERM'), t.running.shutdown('SIGINT')]);
    expect([a, b]).toEqual([0, 0]);
    expect(t.exits).toEqual([0]);
  });
});

describe('startServer refusing a HOST or PORT', () => {
  const base = () => ({
    logger: capturedLogger().logger,
    health: testHealth(),
    shutdownTimeoutMs: 1000,
    drainDelayMs: 0,
    exit: () => undefined,
    signals: [] as NodeJS.Signals[],
  });

  it('names HOST when it does not resolve, and PORT when it is taken', async () => {
    await expect(
      startServer(() => undefined, { ...base(), host: 'no-such-host.invalid', port: 0 }),
    ).rejects.toThrow(/^Invalid configuration: HOST "no-such-host\.invalid" does not resolve/);

    const first = await startServer(() => undefined, { ...base(), host: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startServer(() => undefined, { ...base(), host: '127.0.0.1', port })).rejects.toThrow(
        new ConfigError(`Invalid configuration: PORT ${port} is already in use on 127.0.0.1 (EADDRINUSE)`),
      );
    } finally {
      await new Promise((resolve) => first.server.close(resolve));
    }
  });
});
