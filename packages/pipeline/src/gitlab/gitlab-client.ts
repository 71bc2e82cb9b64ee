// One GitLab API client for every `slipway gitlab` command. It replaces gitbeaker's default request handler with
// one that
// - never follows a redirect, so the private-token header cannot reach another origin (fetch keeps custom
//   headers across origins on redirects), and refuses any URL outside GITLAB_HOST's origin;
// - gives every attempt its own time budget: gitbeaker makes one AbortSignal.timeout per call and would reuse it
//   for each retry and page, so a retry after a long Retry-After wait would abort at once, unsent;
// - waits on HTTP 429 for as long as GitLab asks (Retry-After, else RateLimit-Reset, else a short back-off), and
//   says which of these it is waiting for;
// - turns every failure into a one-line GitlabApiError that never carries the token.
import { Gitlab } from '@gitbeaker/rest';
import { createRequesterFn, type RequestHandlerFn, type ResponseBodyTypes } from '@gitbeaker/requester-utils';
import type { z } from 'zod';
import { refuseCredentials } from '../plan/credentials';

export type GitlabClient = InstanceType<typeof Gitlab<false>>;

export interface GitlabConnection {
  /** e.g. https://gitlab.com; no trailing /api/v4. */
  host: string;
  token: string;
}

export interface RetryPolicy {
  /** How many times a 429 is retried before giving up. */
  maxRetries: number;
  /** A wait longer than this is not done: the command fails and says when to try again. Seconds. */
  maxWaitSeconds: number;
  /** Each attempt's own time budget, in milliseconds (a wait between attempts never counts against it). */
  requestTimeoutMs: number;
  /** Told about each wait, so a long pause is not mistaken for a hang. */
  onWait: (message: string) => void;
  /** Injectable for tests: waits `ms` milliseconds. */
  sleep: (ms: number) => Promise<void>;
  /** Injectable for tests: the current time in epoch milliseconds. */
  now: () => number;
}

const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  maxWaitSeconds: 60,
  requestTimeoutMs: 60_000,
  onWait: (message) => process.stderr.write(`${message}\n`),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};

const HTTP_ADVICE: Record<number, string> = {
  401: 'GITLAB_TOKEN was rejected (expired, revoked or mistyped)',
  403: 'the token lacks permission: it needs the `api` scope and at least the Maintainer role on the project',
  404: 'not found: check the project path or ID, and that the token can see it',
  429: 'rate-limited by GitLab',
};

/** A failed GitLab API call, with a message fit to print as is. */
export class GitlabApiError extends Error {
  override name = 'GitlabApiError';
  constructor(
    message: string,
    readonly status?: number,
    /** GitLab's own message from the response body (JSON `message`/`error`), when there was one. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110, section 10.2.3). */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * How long a 429 asks to wait, and why. GitLab's rate-limit responses carry `RateLimit-Reset` (Unix time when the
 * quota resets) and usually `Retry-After` (seconds), but some GitLab.com 429s carry only `RateLimit-Reset`
 * (https://docs.gitlab.com/administration/settings/user_and_ip_rate_limits/#response-headers); a proxy's 429 may
 * carry neither, and then a short exponential back-off (1, 2, 4 s) is all one can do.
 */
export function rateLimitWait(
  headers: { get(name: string): string | null },
  retry: number,
  now: number,
): { seconds: number; reason: string } {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined) return { seconds: retryAfter, reason: 'as Retry-After asks' };
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const resetMs = Number(reset) * 1000;
    return {
      seconds: Math.max(1, Math.ceil((resetMs - now) / 1000)),
      reason: `until the rate limit resets at ${new Date(resetMs).toISOString()} (RateLimit-Reset)`,
    };
  }
  return {
    seconds: 2 ** retry,
    reason: 'backing off: the answer had neither Retry-After nor RateLimit-Reset',
  };
}

/** GitLab's own message in an error body: JSON `message`/`error_description`/`error`, an HTML page's title. */
function failureDetail(text: string, contentType: string): string {
  let detail = text.trim();
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown; error_description?: unknown };
    const found = body.message ?? body.error_description ?? body.error;
    if (found !== undefined) detail = typeof found === 'string' ? found : JSON.stringify(found);
  } catch {
    if (contentType === 'text/html' || /^<(!doctype|html)/i.test(detail)) {
      // An HTML error page from a proxy or load balancer, not GitLab's API: its title says enough.
      const title = /<title[^>]*>([^<]*)<\/title>/i.exec(detail)?.[1]?.trim();
      detail = `an HTML page${title ? ` titled "${title}"` : ''}, not GitLab's API: a proxy or load balancer answered`;
    }
  }
  return detail.replace(/\s+/g, ' ').slice(0, 200);
}

async function describeFailure(method: string, url: URL, response: Response): Promise<GitlabApiError> {
  const text = await response.text().catch(() => '');
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const detail = failureDetail(text, contentType);
  const advice = HTTP_ADVICE[response.status];
  return new GitlabApiError(
    `GitLab API ${method} ${url.pathname} failed: HTTP ${response.status}` +
      (advice ? ` — ${advice}` : '') +
      (detail ? ` (${detail})` : ''),
    response.status,
    detail,
  );
}

function describeNetworkError(error: unknown, url: URL, timeoutMs: number): GitlabApiError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new GitlabApiError(
      `GitLab at ${url.origin} did not answer within ${Math.round(timeoutMs / 1000)}s (${url.pathname})`,
    );
  }
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  const hint =
    cause?.code === 'ECONNREFUSED' ? 'connection refused' : cause?.code === 'ENOTFOUND' ? 'unknown host' : '';
  return new GitlabApiError(
    `cannot reach GitLab at ${url.origin}: ${hint ? `${hint} (${reason})` : reason}; check GITLAB_HOST`,
  );
}

async function parseBody(response: Response, asStream: boolean): Promise<ResponseBodyTypes> {
  if (asStream) return response.body as unknown as ResponseBodyTypes;
  if (response.status === 204) return null as unknown as ResponseBodyTypes;
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (contentType === 'application/json') return ((await response.json()) ?? {}) as ResponseBodyTypes;
  if (contentType.startsWith('text/')) return await response.text();
  return await response.blob();
}

function createRequestHandler(origin: string, policy: RetryPolicy): RequestHandlerFn {
  return async (endpoint, options = {}) => {
    const { prefixUrl, searchParams, method, asStream, headers, body } = options as {
      prefixUrl: string;
      searchParams?: string;
      method: string;
      asStream?: boolean;
      headers?: Record<string, string>;
      body?: RequestInit['body'];
    };
    const url = new URL(endpoint, prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`);
    url.search = searchParams ?? '';
    if (url.origin !== origin) {
      throw new GitlabApiError(
        `refusing to send the GitLab token to ${url.origin}: only ${origin} (GITLAB_HOST) gets it`,
      );
    }
    for (let retry = 0; ; retry += 1) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body,
          // A fresh budget per attempt (see the top of this file).
          signal: AbortSignal.timeout(policy.requestTimeoutMs),
          // Never follow: fetch would resend private-token to wherever Location points.
          redirect: 'manual',
        });
      } catch (error) {
        throw describeNetworkError(error, url, policy.requestTimeoutMs);
      }
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        let target = 'another address';
        try {
          if (location) target = new URL(location, url).origin;
        } catch {
          // An unparsable Location: say nothing more about it.
        }
        throw new GitlabApiError(
          `GitLab API ${method} ${url.pathname} answered HTTP ${response.status}, a redirect to ${target}: ` +
            'slipway follows no redirects, so the token never leaves GITLAB_HOST; set GITLAB_HOST to the address GitLab really answers on',
          response.status,
        );
      }
      if (response.ok) {
        return {
          body: await parseBody(response, asStream === true),
          headers: Object.fromEntries(response.headers.entries()),
          status: response.status,
        };
      }
      if (response.status === 429) {
        const wait = rateLimitWait(response.headers, retry, policy.now());
        if (retry >= policy.maxRetries || wait.seconds > policy.maxWaitSeconds) {
          const failure = await describeFailure(method, url, response);
          const why =
            retry >= policy.maxRetries
              ? `still rate-limited after ${retry + 1} attempt(s)`
              : `it would mean waiting ${wait.seconds}s ${wait.reason}, longer than the ${policy.maxWaitSeconds}s slipway waits`;
          throw new GitlabApiError(
            `GitLab API ${method} ${url.pathname} failed: HTTP 429 — rate-limited by GitLab; ${why}. ` +
              `Try again in ${wait.seconds}s or later.` +
              (failure.detail ? ` (${failure.detail})` : ''),
            429,
            failure.detail,
          );
        }
        await response.body?.cancel();
        policy.onWait(
          `GitLab rate limit (HTTP 429): waiting ${wait.seconds}s ${wait.reason} (retry ${retry + 1}/${policy.maxRetries})`,
        );
        await policy.sleep(wait.seconds * 1000);
        continue;
      }
      throw await describeFailure(method, url, response);
    }
  };
}

/** Hosts whose traffic never leaves the machine, so plain http exposes the token to no one else. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * GITLAB_HOST (default https://gitlab.com) and GITLAB_TOKEN from the environment; the token is required.
 * Errors (GitlabApiError, never echoing the token): no token; a token with whitespace or control characters
 * (a stray newline from copying); a host that is not an http(s) URL, carries credentials, a query or a fragment;
 * a plain-http host that is not loopback, unless SLIPWAY_GITLAB_ALLOW_HTTP=true says the network is trusted.
 */
export function gitlabConnectionFromEnv(env: NodeJS.ProcessEnv): GitlabConnection {
  const token = env.GITLAB_TOKEN;
  if (!token) {
    throw new GitlabApiError(
      'GITLAB_TOKEN is not set: create a personal or project access token with the `api` scope',
    );
  }
  // The connection and the mask must see the same value, so nothing is trimmed: a stray character is refused.
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(token)) {
    throw new GitlabApiError(
      'GITLAB_TOKEN contains whitespace or a control character (a line break copied with it?); set it to the token alone',
    );
  }
  const rawHost = env.GITLAB_HOST?.trim() || 'https://gitlab.com';
  // Before any message echoes the value, so a password in it is never printed, not even when the URL is invalid.
  try {
    refuseCredentials('GITLAB_HOST', rawHost, 'the token goes in GITLAB_TOKEN');
  } catch (error) {
    throw new GitlabApiError((error as Error).message);
  }
  let host: URL;
  try {
    host = new URL(rawHost.includes('://') ? rawHost : `https://${rawHost}`);
  } catch {
    throw new GitlabApiError(
      `GITLAB_HOST "${rawHost}" is not a valid URL (expected e.g. https://gitlab.com)`,
    );
  }
  if (host.protocol !== 'https:' && host.protocol !== 'http:') {
    throw new GitlabApiError(`GITLAB_HOST must be an http(s) URL, got "${rawHost}"`);
  }
  if (host.search || host.hash) {
    throw new GitlabApiError(`GITLAB_HOST must be a base URL without query or fragment, got "${rawHost}"`);
  }
  if (host.protocol === 'http:' && !isLoopback(host.hostname) && env.SLIPWAY_GITLAB_ALLOW_HTTP !== 'true') {
    throw new GitlabApiError(
      `GITLAB_HOST ${host.origin} is plain http: the token would cross the network unencrypted. ` +
        'Use https, or set SLIPWAY_GITLAB_ALLOW_HTTP=true if this network is trusted',
    );
  }
  return { host: host.href.replace(/\/+$/, ''), token };
}

export function createGitlabClient(
  connection: GitlabConnection,
  retryPolicy: Partial<RetryPolicy> = {},
): GitlabClient {
  const origin = new URL(connection.host).origin;
  const requesterFn = createRequesterFn(
    (_serviceOptions, requestOptions) => Promise.resolve(requestOptions),
    createRequestHandler(origin, { ...DEFAULT_RETRY_POLICY, ...retryPolicy }),
  );
  // queryTimeout: null, because the request handler gives each attempt its own signal.
  return new Gitlab({ host: connection.host, token: connection.token, requesterFn, queryTimeout: null });
}

/**
 * Checks an API answer against the fields slipway reads, so a proxy's page or a changed API fails with a clear
 * message (never "created pipeline #undefined" or "jobs.map is not a function"). `what` names the call,
 * e.g. "GET /pipelines/:id".
 */
export function expectShape<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'the answer'}: ${issue.message}`)
    .join('; ');
  const seen = Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value;
  throw new GitlabApiError(
    `GitLab's answer to ${what} is not what its API documents (${problems}; got ${seen}); ` +
      'check that GITLAB_HOST is a GitLab instance and not a proxy or login page',
  );
}
