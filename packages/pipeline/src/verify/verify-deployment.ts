// Polls a deployed service until it is healthy and serves the expected commit, then smoke-tests one path.
// The exit codes are a contract shared with the POSIX-sh twin in ci-templates/deploy.yml
// (job `.slipway-deploy-verify`); test/verify-parity.test.ts keeps the two in step.

export const VERIFY_EXIT = {
  ok: 0,
  usage: 2,
  unhealthy: 3,
  wrongVersion: 4,
  timeout: 5,
  smokeFailed: 6,
} as const;

export type VerifyOutcome = keyof typeof VERIFY_EXIT;

export interface VerifyOptions {
  /** Base URL of the deployment; /health and /version are resolved against it. */
  baseUrl: URL;
  /** 40-hex commit the deployment must report at /version. Compared case-insensitively. */
  expectCommit: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** Path fetched once the deployment is verified; it must answer 2xx. Skipped when undefined. */
  smokePath?: string;
}

export interface VerifyResult {
  outcome: VerifyOutcome;
  exitCode: number;
  attempts: number;
  message: string;
}

/** What one poll saw; `health` is undefined when /health did not answer at all. */
interface Observation {
  health?: string;
  commit?: string;
}

// A single slow request must not eat the whole budget, and must not outlive it either.
const MAX_REQUEST_SECONDS = 10;

export function resolveEndpoint(baseUrl: URL, path: string): URL {
  const base = baseUrl.href.endsWith('/') ? baseUrl.href : `${baseUrl.href}/`;
  return new URL(path.replace(/^\/+/, ''), base);
}

async function fetchJson(
  url: URL,
  timeoutMs: number,
): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  } catch {
    return undefined;
  }
}

function stringField(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

async function observe(options: VerifyOptions, requestTimeoutMs: number): Promise<Observation> {
  const health = await fetchJson(resolveEndpoint(options.baseUrl, 'health'), requestTimeoutMs);
  if (!health) return {};
  const status = stringField(health.body, 'status') ?? `HTTP ${health.status}`;
  if (status !== 'pass') return { health: status };
  const version = await fetchJson(resolveEndpoint(options.baseUrl, 'version'), requestTimeoutMs);
  const commit = version ? (stringField(version.body, 'commit') ?? `HTTP ${version.status}`) : 'no answer';
  return { health: status, commit };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function result(outcome: VerifyOutcome, attempts: number, message: string): VerifyResult {
  return { outcome, exitCode: VERIFY_EXIT[outcome], attempts, message };
}

/**
 * Verdict when time runs out, from the last poll: no answer -> timeout, answered but not pass -> unhealthy,
 * pass but another commit -> wrong version. The sh twin decides the same way.
 */
function verdictFromLastObservation(
  last: Observation,
  options: VerifyOptions,
  attempts: number,
): VerifyResult {
  const waited = `after ${options.timeoutSeconds}s and ${attempts} attempt(s)`;
  if (last.health === undefined) {
    return result(
      'timeout',
      attempts,
      `${resolveEndpoint(options.baseUrl, 'health').href} never answered ${waited}`,
    );
  }
  if (last.health !== 'pass') {
    return result('unhealthy', attempts, `health is "${last.health}", not "pass", ${waited}`);
  }
  return result(
    'wrongVersion',
    attempts,
    `serving commit ${last.commit}, expected ${options.expectCommit}, ${waited}`,
  );
}

async function smokeTest(options: VerifyOptions, smokePath: string, attempts: number): Promise<VerifyResult> {
  const url = resolveEndpoint(options.baseUrl, smokePath);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(MAX_REQUEST_SECONDS * 1000) });
    await response.arrayBuffer();
    if (response.status >= 200 && response.status < 300) {
      return result(
        'ok',
        attempts,
        `healthy, serving ${options.expectCommit}, smoke ${smokePath} -> ${response.status}`,
      );
    }
    return result(
      'smokeFailed',
      attempts,
      `smoke test ${url.href} answered HTTP ${response.status}, expected 2xx`,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return result('smokeFailed', attempts, `smoke test ${url.href} failed: ${reason}`);
  }
}

export async function verifyDeployment(
  options: VerifyOptions,
  reportProgress: (line: string) => void,
): Promise<VerifyResult> {
  const expected = options.expectCommit.toLowerCase();
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const remainingMs = Math.max(deadline - Date.now(), 1);
    const last = await observe(options, Math.min(remainingMs, MAX_REQUEST_SECONDS * 1000));
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    reportProgress(
      `[${elapsed.padStart(6)}s] attempt ${attempts}: health=${last.health ?? 'no answer'} commit=${last.commit ?? '-'}`,
    );
    if (last.health === 'pass' && last.commit?.toLowerCase() === expected) break;
    if (Date.now() + options.intervalSeconds * 1000 > deadline) {
      return verdictFromLastObservation(last, options, attempts);
    }
    await sleep(options.intervalSeconds * 1000);
  }
  if (options.smokePath === undefined) {
    return result('ok', attempts, `healthy and serving ${options.expectCommit}`);
  }
  return smokeTest(options, options.smokePath, attempts);
}
