import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import { isoNow } from './iso-time';

// IETF draft "Health Check Response Format for HTTP APIs" (draft-inadarei-api-health-check).
export type HealthStatus = 'pass' | 'warn' | 'fail';

export type CheckResult = {
  status: HealthStatus;
  output?: string;
  observedValue?: unknown;
  observedUnit?: string;
  componentType?: string;
  time?: string;
};

/** A named dependency check. It must be cheap: it runs on every `/health` and `/health/ready` request. */
export type HealthCheck = () => CheckResult | Promise<CheckResult>;

/** The `/health` body: the draft's overall status, the release, and each check's latest reading. */
export type HealthReport = {
  status: HealthStatus;
  version: string;
  releaseId: string;
  serviceId?: string;
  checks: Record<string, CheckResult[]>;
};

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** What `/health` names the running release by. */
export type HealthRelease = { version: string; releaseId: string; serviceId?: string };

/**
 * One evaluation of every check: their results (each with its `time`), whether shutdown had begun, and when
 * the evaluation ended, to the millisecond.
 */
type Readings = {
  checks: ReadonlyArray<readonly [string, HealthCheck]>;
  results: CheckResult[];
  shuttingDown: boolean;
  time: string;
};

/** A probe's answer, serialized once: the HTTP status and the raw `writeHead` headers, content length included. */
export type ProbeAnswer = { statusCode: number; headers: string[]; body: string };

export type ProbeKind = 'full' | 'live' | 'ready';

export class HealthRegistry {
  private checks: ReadonlyArray<readonly [string, HealthCheck]> = [];
  private shuttingDown = false;
  /** The evaluation under way while an asynchronous check (a database ping) runs; concurrent probes share it. */
  private running: Promise<Readings> | undefined;
  private readonly answers: ProbeAnswers;

  constructor(private readonly release: HealthRelease) {
    this.answers = new ProbeAnswers(release);
  }

  /** Adds a check, or replaces the check of that name in its place. */
  register(name: string, check: HealthCheck): void {
    // A new array, never an edit in place: a run under way keeps the list it started with, and a changed list
    // tells the answer cache its readings are not comparable.
    const at = this.checks.findIndex(([existing]) => existing === name);
    this.checks =
      at === -1
        ? [...this.checks, [name, check]]
        : this.checks.map((entry, i) => (i === at ? ([name, check] as const) : entry));
  }

  /** Readiness turns 503 from here on; liveness stays 200 so the orchestrator does not kill a draining process. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Runs every check, one after the other, and reports the worst status; a check that throws or rejects is a
   * `fail` with its message. Each result's `time` is when it was read, unless the check set its own.
   * Requests that arrive while an asynchronous check is running share that run (and its answer) instead of
   * starting another, so a burst of probes costs one database ping, not one each; nothing outlives the run.
   */
  async report(): Promise<HealthReport> {
    return composeReport(await this.read(), this.release);
  }

  /**
   * The serialized answer to a probe. An answer whose readings equal the previous ones (same checks, same
   * results, same `time` to the millisecond) is the previous answer, so a busy probe costs no JSON.stringify;
   * every call still runs the checks, so no answer is ever older than its request.
   */
  answer(kind: ProbeKind): ProbeAnswer | Promise<ProbeAnswer> {
    if (kind === 'live') return this.answers.live;
    const readings = this.read();
    return readings instanceof Promise
      ? readings.then((settled) => this.answers.of(kind, settled))
      : this.answers.of(kind, readings);
  }

  /** Synchronous while every check is (the common case), so a probe costs no promise; else the shared run. */
  private read(): Readings | Promise<Readings> {
    if (this.running) return this.running;
    const { checks } = this;
    const results: CheckResult[] = [];
    for (let i = 0; i < checks.length; i++) {
      const outcome = runCheck(checks[i]![1]);
      if (outcome instanceof Promise) {
        const running = this.readRest(checks, results, i, outcome);
        this.running = running;
        const clear = () => {
          if (this.running === running) this.running = undefined;
        };
        running.then(clear, clear);
        return running;
      }
      results.push(stamped(outcome));
    }
    return { checks, results, shuttingDown: this.shuttingDown, time: isoNow() };
  }

  private async readRest(
    checks: Readings['checks'],
    results: CheckResult[],
    from: number,
    pending: Promise<CheckResult>,
  ): Promise<Readings> {
    results.push(stamped(await pending));
    for (let i = from + 1; i < checks.length; i++) results.push(stamped(await runCheck(checks[i]![1])));
    return { checks, results, shuttingDown: this.shuttingDown, time: isoNow() };
  }
}

/**
 * A check's result, or its failure as a `fail` result: a throw, a rejection, or a value without a valid
 * status. A promise only if the check returned one.
 */
function runCheck(check: HealthCheck): CheckResult | Promise<CheckResult> {
  try {
    const result: unknown = check();
    // Any thenable, so a check may return another library's promise; normalised to a native one.
    if (isObject(result) && typeof result.then === 'function')
      return Promise.resolve(result).then(validResult, failed);
    return validResult(result);
  } catch (error) {
    return failed(error);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function validResult(result: unknown): CheckResult {
  if (isObject(result) && typeof result.status === 'string' && Object.hasOwn(RANK, result.status))
    return result as CheckResult;
  return { status: 'fail', output: 'the check returned no pass, warn or fail status' };
}

function failed(error: unknown): CheckResult {
  return { status: 'fail', output: error instanceof Error ? error.message : 'check failed' };
}

function stamped(result: CheckResult): CheckResult {
  return { ...result, time: result.time ?? isoNow() };
}

function overallStatus({ results, shuttingDown }: Readings): HealthStatus {
  if (shuttingDown) return 'fail';
  let status: HealthStatus = 'pass';
  for (const result of results) if (RANK[result.status] > RANK[status]) status = result.status;
  return status;
}

function composeChecks({ checks, results, shuttingDown, time }: Readings): Record<string, CheckResult[]> {
  const composed: Record<string, CheckResult[]> = {};
  checks.forEach(([name], i) => (composed[name] = [{ ...results[i]! }]));
  if (shuttingDown) composed['process:shutdown'] = [{ status: 'fail', output: 'shutting down', time }];
  return composed;
}

function composeReport(readings: Readings, release: HealthRelease): HealthReport {
  return {
    status: overallStatus(readings),
    version: release.version,
    releaseId: release.releaseId,
    ...(release.serviceId ? { serviceId: release.serviceId } : {}),
    checks: composeChecks(readings),
  };
}

/**
 * Same millisecond, same checks, same shutdown state, and results with the same own fields holding the same
 * primitive values. An object value (an `observedValue` such as `{ used, total }`) never counts as the same:
 * the check may have changed it in place.
 */
function sameReadings(a: Readings, b: Readings): boolean {
  if (a.time !== b.time || a.checks !== b.checks || a.shuttingDown !== b.shuttingDown) return false;
  for (let i = 0; i < a.results.length; i++)
    if (!samePrimitiveFields(a.results[i]!, b.results[i]!)) return false;
  return true;
}

function samePrimitiveFields(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  let count = 0;
  for (const key in a) {
    if (!Object.hasOwn(a, key)) continue;
    const value = a[key];
    if (!Object.hasOwn(b, key) || value !== b[key] || (typeof value === 'object' && value !== null))
      return false;
    count += 1;
  }
  for (const key in b) if (Object.hasOwn(b, key)) count -= 1;
  return count === 0;
}

// What every probe answer carries: JSON only (no page for a CSP or frame policy to protect), never cached.
const PROBE_HEADERS = [
  'content-type',
  'application/health+json; charset=utf-8',
  'cache-control',
  'no-store',
  'x-content-type-options',
  'nosniff',
];

function serialized(statusCode: number, body: unknown): ProbeAnswer {
  let json: string;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    // A check's observedValue that JSON cannot hold (a BigInt, a cycle) is that check's bug: report it as a
    // failure the operator can read, rather than an answer-less probe.
    const output = `the health report cannot be serialized: ${error instanceof Error ? error.message : String(error)}`;
    return serialized(503, { status: 'fail', output });
  }
  return {
    statusCode,
    headers: [...PROBE_HEADERS, 'content-length', String(Buffer.byteLength(json))],
    body: json,
  };
}

/** The last answer of each probe kind, reused while the readings are the same. */
class ProbeAnswers {
  readonly live = serialized(200, { status: 'pass' });
  private last: Partial<Record<'full' | 'ready', { readings: Readings; answer: ProbeAnswer }>> = {};

  constructor(private readonly release: HealthRelease) {}

  of(kind: 'full' | 'ready', readings: Readings): ProbeAnswer {
    const last = this.last[kind];
    if (last && sameReadings(last.readings, readings)) return last.answer;
    const answer = kind === 'full' ? this.full(readings) : this.ready(readings);
    this.last[kind] = { readings, answer };
    return answer;
  }

  /** `/health`: the full report; 503 only on fail, so `warn` keeps the instance in rotation. */
  private full(readings: Readings): ProbeAnswer {
    const report = composeReport(readings, this.release);
    return serialized(report.status === 'fail' ? 503 : 200, report);
  }

  /** `/health/ready`: 503 on fail or once shutdown has begun, with the checks that say why. */
  private ready(readings: Readings): ProbeAnswer {
    const status = overallStatus(readings);
    return status === 'fail'
      ? serialized(503, { status, checks: composeChecks(readings) })
      : serialized(200, { status });
  }
}

/** Writes a probe answer with Node's own `writeHead`; HEAD requests get the headers only (Node drops the body). */
function send(res: ServerResponse, { statusCode, headers, body }: ProbeAnswer): void {
  res.writeHead(statusCode, headers).end(body);
}

/**
 * Answers a health probe, if `req` is one: `GET` or `HEAD` of `/health` (full report; 503 only on fail),
 * `/health/live` (the process is up) or `/health/ready` (can take traffic: 503 on fail or once shutdown has
 * begun), in any letter case, with or without one trailing slash and with any query string, as Express's
 * router matched them. Returns whether it took the request. The caller passes anything else on, and probes
 * in a spelling this does not take (an absolute-form URL) to `healthRouter`, which answers the same.
 */
export function answerHealthProbe(
  health: HealthRegistry,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const kind = probeKindOf(req.url ?? '');
  if (!kind) return false;
  // Nothing on the way rejects (checks' failures are results, serialization failures a `fail` answer), but a
  // socket error must not become an unhandled rejection.
  answerWith(health.answer(kind), res, (error) => res.destroy(error as Error));
  return true;
}

function answerWith(
  answer: ProbeAnswer | Promise<ProbeAnswer>,
  res: ServerResponse,
  fail: (error: unknown) => void,
): void {
  if (answer instanceof Promise) answer.then((settled) => send(res, settled)).catch(fail);
  else send(res, answer);
}

const PROBE_PATHS: Record<string, ProbeKind> = {
  '/health': 'full',
  '/health/': 'full',
  '/health/live': 'live',
  '/health/live/': 'live',
  '/health/ready': 'ready',
  '/health/ready/': 'ready',
};

/** The probe a request target names, from its path alone; undefined for anything else. */
export function probeKindOf(url: string): ProbeKind | undefined {
  // Quick refusal of every other route: all probe paths are 7 to 14 characters and start "/h" or "/H".
  if (url.length < 7 || (url.charCodeAt(1) | 0x20) !== 0x68) return undefined;
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path.length > 14) return undefined;
  return Object.hasOwn(PROBE_PATHS, path)
    ? PROBE_PATHS[path]
    : Object.hasOwn(PROBE_PATHS, path.toLowerCase())
      ? PROBE_PATHS[path.toLowerCase()]
      : undefined;
}

/**
 * The probes as Express routes, for a request Express routes (`createServiceApp` answers the usual spellings
 * before Express, with `answerHealthProbe`). Same answers, same headers.
 */
export function healthRouter(health: HealthRegistry): Router {
  const router = express.Router();
  const route =
    (kind: ProbeKind) =>
    (_req: Request, res: Response, next: NextFunction): void =>
      answerWith(health.answer(kind), res, next);
  router.get('/health', route('full'));
  router.get('/health/live', route('live'));
  router.get('/health/ready', route('ready'));
  return router;
}
