import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import pino from 'pino';
import {
  ConfigError,
  createLogger,
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

  it('exits only after the logger has written every shutdown line, in order', async () => {
    // A destination like pino's stdout: a write completes later, and flush(cb) calls back once all have.
    const written: string[] = [];
    let pending = 0;
    const waiting: Array<() => void> = [];
    const destination = {
      write(line: string) {
        pending += 1;
        setTimeout(() => {
          written.push(JSON.parse(line).msg as string);
          pending -= 1;
          if (pending === 0) waiting.splice(0).forEach((cb) => cb());
        }, 20);
      },
      flush(cb: () => void) {
        if (pending === 0) cb();
        else waiting.push(cb);
      },
    };
    const logger = createLogger({ level: 'info', destination });
    const health = testHealth();
    let writtenAtExit: string[] = [];
    const running = await startServer(express(), {
      port: 0,
      host: '127.0.0.1',
      logger,
      health,
      shutdownTimeoutMs: 5000,
      drainDelayMs: 0,
      signals: [],
      exit: () => (writtenAtExit = [...written]),
    });
    await running.shutdown('test');
    expect(writtenAtExit).toEqual([
      'listening',
      'shutdown: readiness is now 503',
      'shutdown: all connections closed',
    ]);
  });

  it('keeps the shutdown lines in order in a file written by pino’s asynchronous destination', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'service-kit-shutdown-log-'));
    try {
      // Repeated: without waiting for the destination, about half the runs put the lines out of order.
      for (let run = 0; run < 8; run++) {
        const file = join(dir, `run-${run}.log`);
        const destination = pino.destination({ dest: file, sync: false, mkdir: true });
        await once(destination, 'ready');
        const logger = createLogger({ level: 'info', destination });
        const running = await startServer(express(), {
          port: 0,
          host: '127.0.0.1',
          logger,
          health: testHealth(),
          shutdownTimeoutMs: 5000,
          drainDelayMs: 0,
          signals: [],
          // What process.exit does to pino's destination: its exit hook writes the rest synchronously.
          exit: () => destination.flushSync(),
        });
        await running.shutdown('SIGTERM');
        destination.end();
        const messages = readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { msg: string }).msg);
        expect(messages).toEqual([
          'listening',
          'shutdown: readiness is now 503',
          'shutdown: all connections closed',
        ]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
