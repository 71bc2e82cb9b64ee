import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServiceApp, resolveVersionInfo, type CheckResult } from '../src';
import { capturedLogger, testHealth } from './support';

// docker/healthcheck.mjs is every service image's HEALTHCHECK; it runs here against the real chassis.
const SCRIPT = join(__dirname, '..', '..', '..', 'docker', 'healthcheck.mjs');

function runHealthcheck(port: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SCRIPT],
      { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, timeout: 10_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('docker/healthcheck.mjs', () => {
  let server: Server;
  let port: number;
  let upstream: CheckResult = { status: 'pass' };
  const health = testHealth();

  beforeAll(async () => {
    health.register('upstream:responses', () => upstream);
    const app = createServiceApp({
      logger: capturedLogger().logger,
      health,
      version: resolveVersionInfo({ env: {} }),
      routes: () => undefined,
    });
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is healthy on pass, silently', async () => {
    upstream = { status: 'pass' };
    expect(await runHealthcheck(port)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('is healthy on warn (upstream trouble), and prints the warning', async () => {
    upstream = { status: 'warn', output: 'The weather service is unavailable (HTTP 500).' };
    const result = await runHealthcheck(port);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'healthy with a warning: upstream:responses: The weather service is unavailable (HTTP 500).\n',
    );
  });

  it('is unhealthy on fail', async () => {
    upstream = { status: 'fail', output: 'broken' };
    const result = await runHealthcheck(port);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('answered 503 with status "fail"');
  });

  it('is unhealthy with no answer', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runHealthcheck(closedPort);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('failed');
  });
});
