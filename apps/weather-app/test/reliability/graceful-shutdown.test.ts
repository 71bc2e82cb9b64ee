import { Agent, request } from 'undici';
import { OpenWeatherStub } from '../support/openweather-stub';
import { startAppAgainstStub, type AppUnderTest } from './app-under-test';

const DRAIN_DELAY_MS = 1000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const WORKERS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Outcome = { startedAt: number; status?: number; error?: string };

describe('SIGTERM during keep-alive load', () => {
  let stub: OpenWeatherStub;
  let target: AppUnderTest;
  // Keep-alive connections, as a load balancer or a busy client holds them.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: WORKERS + 2 });

  beforeAll(async () => {
    stub = await new OpenWeatherStub().start();
    target = await startAppAgainstStub(stub, {
      OPENWEATHER_TIMEOUT_MS: '5000',
      SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
  });

  afterAll(async () => {
    await target?.app.stop();
    await stub?.stop();
    await agent.close();
  });

  it('fails nothing before readiness turns 503, finishes in-flight requests, and exits 0', async () => {
    const { url, exited } = target.app;
    let running = true;
    void exited.then(() => (running = false));
    const get = async (path: string) => {
      const { statusCode, body } = await request(`${url}${path}`, { dispatcher: agent });
      await body.dump();
      return statusCode;
    };
    expect(await get('/api/weather?city=London')).toBe(200);

    const outcomes: Outcome[] = [];
    const worker = async () => {
      while (running) {
        const startedAt = performance.now();
        try {
          outcomes.push({ startedAt, status: await get('/api/weather?city=London') });
        } catch (error) {
          outcomes.push({ startedAt, error: String((error as { code?: string }).code ?? error) });
          await sleep(10);
        }
      }
    };
    let readinessFailedAt: number | undefined;
    const readinessPoller = async () => {
      while (running && readinessFailedAt === undefined) {
        const checkedAt = performance.now();
        try {
          if ((await get('/health/ready')) === 503) readinessFailedAt = checkedAt;
        } catch {
          // The listener closes after the drain delay; the first 503 came long before.
        }
        await sleep(20);
      }
    };
    const load = [...Array.from({ length: WORKERS }, worker), readinessPoller()];
    while (outcomes.filter((o) => o.status === 200).length < 200) await sleep(20);

    // A request that is still waiting on the upstream when the signal comes.
    stub.behaviour = { kind: 'slow', delayMs: 1500 };
    const callsBefore = stub.received.length;
    const inFlight = get('/api/weather?city=Oslo');
    while (stub.received.length === callsBefore) await sleep(10);
    const signalledAt = performance.now();
    target.app.child.kill('SIGTERM');

    const exit = await exited;
    await Promise.all(load);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(await inFlight).toBe(200);
    // The poller saw readiness fail while the listener was still open (the drain delay).
    expect(readinessFailedAt).toBeDefined();
    const failedBeforeReadiness = outcomes.filter(
      (o) => o.status !== 200 && o.startedAt < (readinessFailedAt ?? Infinity),
    );
    expect(failedBeforeReadiness).toEqual([]);
    // Only refused or closed connections, after the listener closed; never an error status.
    expect(outcomes.filter((o) => o.status !== undefined && o.status !== 200)).toEqual([]);
    expect(outcomes.filter((o) => o.startedAt > signalledAt && o.status === 200).length).toBeGreaterThan(0);
    expect(target.logs.messages).toContain('shutdown: all connections closed');
    expect(target.logs.messages).not.toContain('shutdown: deadline passed, forcing exit');
    expect(target.logs.leaks).toEqual([]);
  });
});
