import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { OpenWeatherStub, STUB_API_KEY } from '../support/openweather-stub';
import {
  cpuSeconds,
  residentSetBytes,
  startNodeServer,
  startWeatherApp,
  weatherAppRoot,
  type NodeProcess,
} from '../support/processes';

type BenchFlags = {
  durationSeconds: number;
  rounds: number;
  connections: number;
  soakSeconds: number;
  coldStarts: number;
};

class UsageError extends Error {}

const USAGE = `Usage: npm run bench -- [--duration S] [--rounds N] [--connections N] [--soak-seconds S] [--cold-starts N]
  --duration       seconds per measurement of each route (default 5)
  --rounds         measurements of each route, interleaved; the table shows medians (default 3)
  --connections    concurrent keep-alive connections (default 50)
  --soak-seconds   length of the RSS growth run on mixed routes (default 20; docs/performance.md quotes 60)
  --cold-starts    spawns measured for the cold start median (default 10)`;

function parseFlags(args: string[]): BenchFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        duration: { type: 'string', default: '5' },
        rounds: { type: 'string', default: '3' },
        connections: { type: 'string', default: '50' },
        'soak-seconds': { type: 'string', default: '20' },
        'cold-starts': { type: 'string', default: '10' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) throw new UsageError('');
  const wholeNumber = (flag: string, raw: string, max: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new UsageError(`--${flag} must be a whole number from 1 to ${max}, got "${raw}"`);
    return value;
  };
  return {
    durationSeconds: wholeNumber('duration', values.duration, 600),
    rounds: wholeNumber('rounds', values.rounds, 20),
    connections: wholeNumber('connections', values.connections, 1000),
    soakSeconds: wholeNumber('soak-seconds', values['soak-seconds'], 3600),
    coldStarts: wholeNumber('cold-starts', values['cold-starts'], 100),
  };
}

type WrkRequest = { method: 'GET' | 'POST'; path: string; form?: string };
type Target = 'baseline' | 'express' | 'chassis' | 'app';
type Route = WrkRequest & { label: string; target: Target };

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const CACHED_JSON = '/api/weather?city=London';
const BASELINE: Route = {
  label: 'raw node:http (baseline)',
  target: 'baseline',
  method: 'GET',
  path: CACHED_JSON,
};
const HEALTH: Route = { label: 'GET /health', target: 'app', method: 'GET', path: '/health' };
const CACHED_ROUTES: Route[] = [
  { label: 'GET /api/weather?city=London (cache hit)', target: 'app', method: 'GET', path: CACHED_JSON },
  {
    label: 'POST /weather city=London (cache hit)',
    target: 'app',
    method: 'POST',
    path: '/weather',
    form: 'city=London',
  },
];
const ROUTES: Route[] = [
  BASELINE,
  { label: 'bare Express 5, same body', target: 'express', method: 'GET', path: CACHED_JSON },
  { label: 'chassis + one-line route, same body', target: 'chassis', method: 'GET', path: CACHED_JSON },
  HEALTH,
  ...CACHED_ROUTES,
];

type Sample = { requests: number; rps: number; p50: number; p99: number; failures: number };

const runFile = promisify(execFile);

/**
 * One wrk run in its own process. wrk, not autocannon, measures: autocannon parses responses in JavaScript,
 * and with the app's fifteen security headers it ran out of CPU before the server did.
 */
async function runWrk(
  baseUrl: string,
  requests: WrkRequest[],
  connections: number,
  durationSeconds: number,
): Promise<Sample> {
  const script = join(weatherAppRoot(), 'test', 'bench', 'wrk-report.lua');
  const lines = requests.map(({ method, path, form }) => `${method} ${path} ${form ?? ''}`.trim());
  let stdout: string;
  try {
    ({ stdout } = await runFile(
      'wrk',
      ['-t1', `-c${connections}`, `-d${durationSeconds}s`, '--timeout', '10s', '-s', script, baseUrl],
      { env: { PATH: process.env.PATH ?? '', WRK_REQUESTS: lines.join('\n') } },
    ));
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT')
      throw new Error('wrk is not installed: apt-get install -y wrk', { cause: error });
    throw error;
  }
  const report = /^WRK_RESULT (.*)$/m.exec(stdout)?.[1];
  if (!report) throw new Error(`wrk printed no result:\n${stdout}`);
  const result = JSON.parse(report) as {
    requests: number;
    durationUs: number;
    errors: number;
    non2xx: number;
    p50Us: number;
    p99Us: number;
  };
  return {
    requests: result.requests,
    rps: result.requests / (result.durationUs / 1e6),
    p50: result.p50Us / 1000,
    p99: result.p99Us / 1000,
    failures: result.errors + result.non2xx,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1);
const verdict = (met: boolean) => (met ? 'meets target' : 'MISSES target');

function stubbedAppEnv(stub: OpenWeatherStub, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    OPENWEATHER_API_KEY: STUB_API_KEY,
    OPENWEATHER_BASE_URL: stub.url,
    ...extra,
  };
}

async function expectOk(url: string, init?: RequestInit): Promise<string> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}: ${text}`);
  return text;
}

type Measured = Sample & { cpuUsPerRequest: number };

async function routeTable(stub: OpenWeatherStub, flags: BenchFlags): Promise<void> {
  const app = await startWeatherApp({ env: stubbedAppEnv(stub) });
  // Fill the cache, and give the comparison servers the exact body the app sends.
  const body = await expectOk(`${app.url}${CACHED_JSON}`);
  await expectOk(`${app.url}/weather`, { method: 'POST', headers: FORM, body: 'city=London' });
  const startFixture = (script: string, env: Record<string, string> = {}) =>
    startNodeServer(join(__dirname, script), {
      env: { NODE_ENV: 'production', BASELINE_BODY: body, ...env },
    });
  const servers: Record<Target, NodeProcess> = {
    app,
    baseline: await startFixture('raw-node-http-server.js'),
    express: await startFixture('express-layers-server.js', { LAYERS: 'express' }),
    chassis: await startFixture('express-layers-server.js', { LAYERS: 'chassis' }),
  };

  const measure = async (route: Route, duration: number): Promise<Measured> => {
    const { pid, url } = servers[route.target];
    const cpuBefore = cpuSeconds(pid);
    const sample = await runWrk(url, [route], flags.connections, duration);
    return { ...sample, cpuUsPerRequest: ((cpuSeconds(pid) - cpuBefore) * 1e6) / sample.requests };
  };

  try {
    // JIT warm-up for every route before anything is recorded.
    for (const route of ROUTES) await measure(route, 2);

    const samples = new Map<Route, Measured[]>(ROUTES.map((route) => [route, []]));
    const rss = new Map<Route, { before: number; after: number }>();
    // Rounds interleave the routes, so a noisy neighbour on the machine hurts all of them alike.
    for (let round = 0; round < flags.rounds; round += 1) {
      for (const route of ROUTES) {
        const { pid } = servers[route.target];
        const before = residentSetBytes(pid);
        samples.get(route)!.push(await measure(route, flags.durationSeconds));
        rss.set(route, { before: rss.get(route)?.before ?? before, after: residentSetBytes(pid) });
      }
    }

    const medianOf = (route: Route, metric: (s: Measured) => number) =>
      median(samples.get(route)!.map(metric));
    const rpsOf = (route: Route) => medianOf(route, (s) => s.rps);
    console.log(
      `\n## Routes: ${flags.connections} connections, ${flags.rounds} x ${flags.durationSeconds} s each, medians\n`,
    );
    console.log(
      '| route | req/s | p50 ms | p99 ms | errors | server CPU µs/req | RSS before MB | RSS after MB | x baseline | x /health |',
    );
    console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const route of ROUTES) {
      const failures = samples.get(route)!.reduce((sum, s) => sum + s.failures, 0);
      const { before, after } = rss.get(route)!;
      const vsHealth = CACHED_ROUTES.includes(route) ? (rpsOf(route) / rpsOf(HEALTH)).toFixed(2) : '';
      console.log(
        `| ${route.label} | ${Math.round(rpsOf(route))} | ${ms(medianOf(route, (s) => s.p50))} | ` +
          `${ms(medianOf(route, (s) => s.p99))} | ${failures} | ${Math.round(medianOf(route, (s) => s.cpuUsPerRequest))} | ` +
          `${mb(before)} | ${mb(after)} | ${(rpsOf(route) / rpsOf(BASELINE)).toFixed(2)} | ${vsHealth} |`,
      );
    }
    const healthRatio = rpsOf(HEALTH) / rpsOf(BASELINE);
    console.log(
      `\nGET /health is ${healthRatio.toFixed(2)}x raw node:http (target >= 0.5x): ${verdict(healthRatio >= 0.5)}`,
    );
    for (const route of CACHED_ROUTES) {
      const ratio = rpsOf(route) / rpsOf(HEALTH);
      const p99 = medianOf(route, (s) => s.p99);
      console.log(
        `${route.label}: ${ratio.toFixed(2)}x /health (target >= 0.8x): ${verdict(ratio >= 0.8)}; ` +
          `p99 ${ms(p99)} ms at ${flags.connections} connections (target < 10 ms): ${verdict(p99 < 10)}`,
      );
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
}

async function coldStart(stub: OpenWeatherStub, flags: BenchFlags): Promise<void> {
  const times: number[] = [];
  for (let run = 0; run < flags.coldStarts; run += 1) {
    const app = await startWeatherApp({ env: stubbedAppEnv(stub) });
    times.push(app.startupMs);
    await app.stop();
  }
  console.log(
    `\n## Cold start: spawn to first 200 from /health, ${flags.coldStarts} runs\n\n` +
      `median ${Math.round(median(times))} ms (min ${Math.round(Math.min(...times))}, max ${Math.round(Math.max(...times))})`,
  );
}

const ECONOMY_CITIES = [
  'London',
  'Paris',
  'Berlin',
  'Madrid',
  'Rome',
  'Vienna',
  'Prague',
  'Warsaw',
  'Lisbon',
  'Dublin',
  'Oslo',
  'Stockholm',
  'Helsinki',
  'Copenhagen',
  'Amsterdam',
  'Brussels',
  'Zurich',
  'Athens',
  'Budapest',
  'Tokyo',
];

async function upstreamEconomy(stub: OpenWeatherStub): Promise<void> {
  const app = await startWeatherApp({ env: stubbedAppEnv(stub, { WEATHER_CACHE_TTL_SECONDS: '60' }) });
  // OpenWeather takes tens of milliseconds; a slow upstream is what makes concurrent misses pile up.
  stub.behaviour = { kind: 'slow', delayMs: 100 };
  const callsBefore = stub.received.length;
  try {
    const statuses = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const city = encodeURIComponent(ECONOMY_CITIES[i % ECONOMY_CITIES.length]!);
        const response = await fetch(`${app.url}/api/weather?city=${city}`);
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const calls = stub.received.length - callsBefore;
    const ok = statuses.filter((status) => status === 200).length;
    console.log(
      `\n## Upstream economy: 500 concurrent requests, ${ECONOMY_CITIES.length} cities, 60 s TTL, 100 ms upstream\n\n` +
        `${calls} upstream calls (target exactly ${ECONOMY_CITIES.length}): ${verdict(calls === ECONOMY_CITIES.length)}; ${ok}/500 answered 200`,
    );
  } finally {
    stub.behaviour = { kind: 'ok' };
    await app.stop();
  }
}

// A --trace-gc line for a full collection: "Mark-Compact 76.7 (158.9) -> 25.6 (158.9) MB": used and committed
// heap before -> after. What survives a full collection is the live heap; a leak makes it climb.
const FULL_GC = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/;

async function rssGrowth(stub: OpenWeatherStub, flags: BenchFlags): Promise<void> {
  let measuring = false;
  const liveHeapMb: number[] = [];
  const app = await startWeatherApp({
    env: stubbedAppEnv(stub, { WEATHER_CACHE_TTL_SECONDS: '5' }),
    nodeArgs: ['--trace-gc'],
    onLine: (line) => {
      // Request logs are JSON; V8's GC trace lines are not.
      if (!measuring || line.startsWith('{')) return;
      const match = FULL_GC.exec(line);
      if (match) liveHeapMb.push(Number(match[1]));
    },
  });
  // Mixed traffic, with a short TTL so that misses, upstream calls and cache refreshes happen throughout.
  const requests: WrkRequest[] = [
    { method: 'GET', path: '/health' },
    { method: 'GET', path: '/api/weather?city=London' },
    { method: 'POST', path: '/weather', form: 'city=Paris' },
    { method: 'GET', path: '/api/weather?city=Tokyo&units=metric' },
    { method: 'GET', path: '/' },
  ];
  const run = (duration: number) => runWrk(app.url, requests, flags.connections, duration);
  try {
    await run(3);
    const before = residentSetBytes(app.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, residentSetBytes(app.pid))), 1000);
    measuring = true;
    const result = await run(flags.soakSeconds);
    measuring = false;
    clearInterval(sampler);
    const after = residentSetBytes(app.pid);
    const growth = after - before;
    const liveHeap =
      liveHeapMb.length >= 2
        ? `live heap after full GCs ${liveHeapMb[0]!.toFixed(1)} MB -> ${liveHeapMb.at(-1)!.toFixed(1)} MB ` +
          `(${liveHeapMb.length} full GCs, max ${Math.max(...liveHeapMb).toFixed(1)} MB)`
        : `fewer than 2 full GCs in the run (${liveHeapMb.length}), so no live heap trend; run longer`;
    console.log(
      `\n## RSS growth: ${flags.soakSeconds} s of mixed routes at ${flags.connections} connections\n\n` +
        `RSS ${mb(before)} MB -> ${mb(after)} MB (peak ${mb(peak)} MB): growth ${mb(growth)} MB ` +
        `(target < 20 MB): ${verdict(growth < 20 * 1024 * 1024)}\n` +
        `${liveHeap}\n` +
        `${Math.round(result.rps)} req/s, p99 ${ms(result.p99)} ms, ${result.failures} errors`,
    );
  } finally {
    await app.stop();
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const stub = await new OpenWeatherStub().start();
  console.log(
    `weather-app benchmarks on Node ${process.version}; server and load generator are separate processes`,
  );
  try {
    await routeTable(stub, flags);
    await coldStart(stub, flags);
    await upstreamEconomy(stub);
    await rssGrowth(stub, flags);
  } finally {
    await stub.stop();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(error.message ? `${error.message}\n${USAGE}` : USAGE);
    process.exit(error.message ? 2 : 0);
  }
  console.error(error);
  process.exit(1);
});
