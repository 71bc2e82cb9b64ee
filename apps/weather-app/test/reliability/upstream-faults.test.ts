import autocannon from 'autocannon';
import { OpenWeatherStub, type StubBehaviour } from '../support/openweather-stub';
import { FORM_HEADERS, startAppAgainstStub, type AppUnderTest } from './app-under-test';

// Generous, so that a healthy loopback call on a loaded CI runner never times out; the slow fault is far slower.
const TIMEOUT_MS = 1500;
const TTL_SECONDS = 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Fault = {
  name: string;
  /** Puts the stub into the fault; `refused` closes its listener instead. */
  behaviour: StubBehaviour | 'refused';
  status: number;
  problemType: string;
  headers?: Record<string, string>;
};

const FAULTS: Fault[] = [
  {
    name: 'slow past the timeout',
    behaviour: { kind: 'slow', delayMs: TIMEOUT_MS * 10 },
    status: 504,
    problemType: 'upstream-timeout',
  },
  {
    name: 'HTTP 500',
    behaviour: { kind: 'status', status: 500 },
    status: 502,
    problemType: 'upstream-unavailable',
  },
  {
    name: 'HTTP 429',
    // 1 s: the Retry-After circuit then stays open for 1 s only, and the next fault reaches the upstream.
    behaviour: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    status: 503,
    problemType: 'upstream-rate-limited',
    headers: { 'retry-after': '1' },
  },
  {
    name: 'connection reset',
    behaviour: { kind: 'reset' },
    status: 502,
    problemType: 'upstream-unavailable',
  },
  {
    name: 'malformed JSON',
    behaviour: { kind: 'malformed' },
    status: 502,
    problemType: 'upstream-malformed',
  },
  { name: 'connection refused', behaviour: 'refused', status: 502, problemType: 'upstream-unavailable' },
];

describe('upstream faults switched during load', () => {
  let stub: OpenWeatherStub;
  let stubPort: number;
  let target: AppUnderTest;

  beforeAll(async () => {
    stub = await new OpenWeatherStub().start();
    stubPort = Number(new URL(stub.url).port);
    target = await startAppAgainstStub(stub, {
      OPENWEATHER_TIMEOUT_MS: String(TIMEOUT_MS),
      WEATHER_CACHE_TTL_SECONDS: String(TTL_SECONDS),
      WEATHER_STALE_IF_ERROR_SECONDS: '3600',
    });
  });

  afterAll(async () => {
    await target?.app.stop();
    await stub?.stop();
  });

  it('keeps /health pass or warn, maps each fault, serves stale entries, and never crashes', async () => {
    const { url } = target.app;
    const london = await fetch(`${url}/api/weather?city=London`);
    expect(london.status).toBe(200);

    // Background load on cached and health routes for the whole run: every answer must stay 200.
    const background = [
      { path: '/health', connections: 5 },
      { path: '/api/weather?city=London', connections: 10 },
      { path: '/weather', connections: 5, method: 'POST', headers: FORM_HEADERS, body: 'city=London' },
    ].map(({ path, connections, ...request }) => ({
      path,
      run: autocannon({ url: `${url}${path}`, connections, duration: 600, ...request }),
    }));

    try {
      for (const [index, fault] of FAULTS.entries()) {
        if (fault.behaviour === 'refused') await stub.stop();
        else stub.behaviour = fault.behaviour;
        // Let London's fresh period run out, so what the load gets from here on comes from a failed refresh.
        await sleep(TTL_SECONDS * 1000 + 200);

        const uncached = await fetch(`${url}/api/weather?city=Faultville-${index}`);
        const problem = (await uncached.json()) as { type: string; status: number };
        expect({ fault: fault.name, status: uncached.status, type: problem.type }).toEqual({
          fault: fault.name,
          status: fault.status,
          type: expect.stringMatching(new RegExp(`:${fault.problemType}$`)),
        });
        for (const [name, value] of Object.entries(fault.headers ?? {}))
          expect(uncached.headers.get(name)).toBe(value);

        const stale = await fetch(`${url}/api/weather?city=London`);
        expect({ fault: fault.name, status: stale.status, cache: stale.headers.get('x-cache') }).toEqual({
          fault: fault.name,
          status: 200,
          cache: 'stale',
        });
        expect(((await stale.json()) as { stale: boolean }).stale).toBe(true);
        const page = await fetch(`${url}/weather`, {
          method: 'POST',
          headers: FORM_HEADERS,
          body: 'city=London',
        });
        expect(await page.text()).toContain('this is the last reading we have');

        const health = await fetch(`${url}/health`);
        expect(health.status).toBe(200);
        expect(((await health.json()) as { status: string }).status).toBe('warn');

        if (fault.behaviour === 'refused') await stub.start(stubPort);
        stub.behaviour = { kind: 'ok' };
      }

      // Recovery: the next refresh succeeds and the health check returns to pass.
      await sleep(TTL_SECONDS * 1000 + 200);
      const fresh = await fetch(`${url}/api/weather?city=London`);
      expect(fresh.headers.get('x-cache')).toMatch(/^(hit|miss)$/);
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string };
      expect(health.status).toBe('pass');
    } finally {
      for (const { run } of background) run.stop();
    }

    for (const { path, run } of background) {
      const result = await run;
      expect({
        path,
        statuses: Object.keys(result.statusCodeStats),
        errors: result.errors,
        timeouts: result.timeouts,
      }).toEqual({ path, statuses: ['200'], errors: 0, timeouts: 0 });
    }
    expect(target.app.child.exitCode).toBeNull();
    expect(target.logs.leaks).toEqual([]);
    expect(target.logs.notJson).toEqual([]);
    // Each fault is an expected failure: one warn line per failed request, naming the problem type and the
    // cause, and nothing at error level (no stack traces into node_modules).
    expect(target.logs.errors).toEqual([]);
    const loggedTypes = new Set(target.logs.problems.map((p) => p.type));
    for (const fault of FAULTS) expect(loggedTypes).toContain(fault.problemType);
    expect(target.logs.problems.every((p) => typeof p.cause === 'string' && p.cause.length > 0)).toBe(true);
  });
});
