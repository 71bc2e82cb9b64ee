// Polls a deployed service until it is healthy and serves the expected commit and/or content key, then
// smoke-tests one path. Healthy means /health reports "pass" or "warn": the IETF health-check draft the service
// follows (draft-inadarei-api-health-check) defines warn as "healthy, with some concerns", and the service reports
// warn for upstream trouble it rides out, so rolling back for it would undo a good release. No redirect is
// followed: a 3xx is an answer that fails the check, so another host can never pass verification.
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
  /** 40-hex commit the deployment must report at /version (`commit`). Compared case-insensitively. */
  expectCommit?: string;
  /** Content key the deployment must report at /version (`contentKey`); compared exactly. */
  expectContentKey?: string;
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
  /** For a warn: what the warning checks say. */
  warning?: string;
  commit?: string;
  contentKey?: string;
}

const HEALTHY = new Set(['pass', 'warn']);

// A single slow request must not eat the whole budget, and must not outlive it by much either: each request gets
// what is left of the budget, at most MAX_REQUEST_SECONDS and at least MIN_REQUEST_SECONDS. The floor is what lets
// `--timeout 0` look once (and the last look before the deadline look at all): cut to the milliseconds left, a
// request to a healthy deployment would end unanswered. The sh twin bounds curl --max-time by the same 1 and 10.
const MAX_REQUEST_SECONDS = 10;
const MIN_REQUEST_SECONDS = 1;

export function resolveEndpoint(baseUrl: URL, path: string): URL {
  const base = baseUrl.href.endsWith('/') ? baseUrl.href : `${baseUrl.href}/`;
  return new URL(path.replace(/^\/+/, ''), base);
}

/** "HTTP 302 (a redirect to http://other:1234, not followed)" for a 3xx, else "HTTP <status>". */
function describeStatus(response: Response, url: URL): string {
  if (response.status < 300 || response.status >= 400) return `HTTP ${response.status}`;
  const location = response.headers.get('location');
  let target = 'elsewhere';
  try {
    if (location) target = new URL(location, url).origin;
  } catch {
    // An unparsable Location: say no more.
  }
  return `HTTP ${response.status} (a redirect to ${target}, not followed)`;
}

async function fetchJson(
  url: URL,
  timeoutMs: number,
): Promise<{ status: number; statusText: string; body: unknown } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    const statusText = describeStatus(response, url);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      return { status: response.status, statusText, body: undefined };
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, statusText, body };
  } catch {
    return undefined;
  }
}

function stringField(body: unknown, field: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/** "name: output" of each check that reports warn, from the IETF-draft body (`checks: {name: [{status, output}]}`). */
function warningChecks(body: unknown): string {
  const checks = (body as { checks?: unknown } | undefined)?.checks;
  if (typeof checks !== 'object' || checks === null) return '';
  return Object.entries(checks as Record<string, unknown>)
    .flatMap(([name, results]) =>
      (Array.isArray(results) ? results : [])
        .filter((r: { status?: unknown }) => r?.status === 'warn')
        .map((r: { output?: unknown }) => (typeof r.output === 'string' ? `${name}: ${r.output}` : name)),
    )
    .join('; ')
    .slice(0, 300);
}

async function observe(options: VerifyOptions, requestTimeoutMs: number): Promise<Observation> {
  const health = await fetchJson(resolveEndpoint(options.baseUrl, 'health'), requestTimeoutMs);
  if (!health) return {};
  // A redirect's body (if any) is never read: the status alone is the answer.
  const status =
    (health.status < 300 || health.status >= 400 ? stringField(health.body, 'status') : undefined) ??
    health.statusText;
  if (!HEALTHY.has(status)) return { health: status };
  const warning = status === 'warn' ? warningChecks(health.body) : undefined;
  const version = await fetchJson(resolveEndpoint(options.baseUrl, 'version'), requestTimeoutMs);
  if (!version) return { health: status, warning, commit: 'no answer', contentKey: 'no answer' };
  const redirected = version.status >= 300 && version.status < 400;
  return {
    health: status,
    warning,
    commit: (redirected ? undefined : stringField(version.body, 'commit')) ?? version.statusText,
    contentKey: (redirected ? undefined : stringField(version.body, 'contentKey')) ?? version.statusText,
  };
}

/** What the deployment must serve, for messages: "<sha>", "content key <key>" or "<sha> and content key <key>". */
export function describeExpected(options: VerifyOptions): string {
  return [
    options.expectCommit ?? '',
    options.expectContentKey ? `content key ${options.expectContentKey}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

function servesExpected(last: Observation, options: VerifyOptions): boolean {
  const commitOk =
    options.expectCommit === undefined || last.commit?.toLowerCase() === options.expectCommit.toLowerCase();
  const contentKeyOk = options.expectContentKey === undefined || last.contentKey === options.expectContentKey;
  return commitOk && contentKeyOk;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function result(outcome: VerifyOutcome, attempts: number, message: string): VerifyResult {
  return { outcome, exitCode: VERIFY_EXIT[outcome], attempts, message };
}

/**
 * Verdict when time runs out, from the last poll: no answer -> timeout, answered but neither pass nor warn (a 3xx
 * included) -> unhealthy, healthy but another commit or content key -> wrong version. The sh twin decides the
 * same way.
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
  if (!HEALTHY.has(last.health)) {
    return result('unhealthy', attempts, `health is "${last.health}", not "pass" or "warn", ${waited}`);
  }
  const wrong = [
    options.expectCommit !== undefined && last.commit?.toLowerCase() !== options.expectCommit.toLowerCase()
      ? `commit ${last.commit}, expected ${options.expectCommit}`
      : '',
    options.expectContentKey !== undefined && last.contentKey !== options.expectContentKey
      ? `content key ${last.contentKey}, expected ${options.expectContentKey}`
      : '',
  ].filter(Boolean);
  return result('wrongVersion', attempts, `serving ${wrong.join(' and ')}, ${waited}`);
}

async function smokeTest(options: VerifyOptions, smokePath: string, attempts: number): Promise<VerifyResult> {
  const url = resolveEndpoint(options.baseUrl, smokePath);
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(MAX_REQUEST_SECONDS * 1000),
      redirect: 'manual',
    });
    await response.arrayBuffer();
    if (response.status >= 200 && response.status < 300) {
      return result(
        'ok',
        attempts,
        `healthy, serving ${describeExpected(options)}, smoke ${smokePath} -> ${response.status}`,
      );
    }
    return result(
      'smokeFailed',
      attempts,
      `smoke test ${url.href} answered ${describeStatus(response, url)}, expected 2xx`,
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
  const started = Date.now();
  const deadline = started + options.timeoutSeconds * 1000;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const remainingMs = Math.max(deadline - Date.now(), MIN_REQUEST_SECONDS * 1000);
    const last = await observe(options, Math.min(remainingMs, MAX_REQUEST_SECONDS * 1000));
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    reportProgress(
      `[${elapsed.padStart(6)}s] attempt ${attempts}: health=${last.health ?? 'no answer'} commit=${last.commit ?? '-'}` +
        (options.expectContentKey !== undefined ? ` contentKey=${last.contentKey ?? '-'}` : ''),
    );
    if (last.health === 'warn') {
      reportProgress(
        `verify: warning: /health reports "warn" (degraded, still serving)${last.warning ? `: ${last.warning}` : ''}`,
      );
    }
    if (last.health !== undefined && HEALTHY.has(last.health) && servesExpected(last, options)) break;
    if (Date.now() + options.intervalSeconds * 1000 > deadline) {
      return verdictFromLastObservation(last, options, attempts);
    }
    await sleep(options.intervalSeconds * 1000);
  }
  if (options.smokePath === undefined) {
    return result('ok', attempts, `healthy and serving ${describeExpected(options)}`);
  }
  return smokeTest(options, options.smokePath, attempts);
}
