// One GitLab API client for every `slipway gitlab` command. It replaces gitbeaker's default request handler,
// which retries 429 ten times within ~250 ms and ignores Retry-After, with one that waits as long as GitLab
// asks (within a bound) and turns every failure into a one-line GitlabApiError that never carries the token.
import { Gitlab } from '@gitbeaker/rest';
import { createRequesterFn, type RequestHandlerFn, type ResponseBodyTypes } from '@gitbeaker/requester-utils';

export type GitlabClient = InstanceType<typeof Gitlab<false>>;

export interface GitlabConnection {
  /** e.g. https://gitlab.com; no trailing /api/v4. */
  host: string;
  token: string;
}

export interface RetryPolicy {
  /** How many times a 429 is retried before giving up. */
  maxRetries: number;
  /** A Retry-After longer than this is not waited for: the command fails and says when to try again. */
  maxWaitSeconds: number;
  /** Told about each wait, so a long pause is not mistaken for a hang. */
  onWait: (message: string) => void;
}

const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  maxWaitSeconds: 60,
  onWait: (message) => process.stderr.write(`${message}\n`),
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
  ) {
    super(message);
  }
}

/** Replaces each secret with "[masked]", so no message or log can leak a token. */
export function maskSecrets(text: string, secrets: Array<string | undefined>): string {
  return secrets
    .filter((secret): secret is string => typeof secret === 'string' && secret.length > 0)
    .reduce((masked, secret) => masked.split(secret).join('[masked]'), text);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

async function describeFailure(method: string, url: URL, response: Response): Promise<GitlabApiError> {
  const text = await response.text().catch(() => '');
  let detail = text.trim();
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown; error_description?: unknown };
    const found = body.message ?? body.error_description ?? body.error;
    if (found !== undefined) detail = typeof found === 'string' ? found : JSON.stringify(found);
  } catch {
    // Not JSON: an HTML error page from a proxy, say. Keep it short.
  }
  detail = detail.replace(/\s+/g, ' ').slice(0, 200);
  const advice = HTTP_ADVICE[response.status];
  return new GitlabApiError(
    `GitLab API ${method} ${url.pathname} failed: HTTP ${response.status}` +
      (advice ? ` — ${advice}` : '') +
      (detail ? ` (${detail})` : ''),
    response.status,
  );
}

function describeNetworkError(error: unknown, url: URL): GitlabApiError {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new GitlabApiError(`GitLab at ${url.origin} did not answer in time (${url.pathname})`);
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

function createRequestHandler(policy: RetryPolicy): RequestHandlerFn {
  return async (endpoint, options = {}) => {
    const { prefixUrl, searchParams, method, asStream, headers, body, signal } = options as {
      prefixUrl: string;
      searchParams?: string;
      method: string;
      asStream?: boolean;
      headers?: Record<string, string>;
      body?: RequestInit['body'];
      signal?: AbortSignal;
    };
    const url = new URL(endpoint, prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`);
    url.search = searchParams ?? '';
    for (let retry = 0; ; retry += 1) {
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, signal: signal ?? null });
      } catch (error) {
        throw describeNetworkError(error, url);
      }
      if (response.ok) {
        return {
          body: await parseBody(response, asStream === true),
          headers: Object.fromEntries(response.headers.entries()),
          status: response.status,
        };
      }
      if (response.status === 429) {
        const waitSeconds = parseRetryAfter(response.headers.get('retry-after')) ?? 2 ** retry;
        if (retry >= policy.maxRetries || waitSeconds > policy.maxWaitSeconds) {
          await response.body?.cancel();
          throw new GitlabApiError(
            `GitLab API ${method} ${url.pathname} failed: HTTP 429 — rate-limited by GitLab after ${retry + 1} attempt(s); ` +
              `it asks to retry after ${waitSeconds}s. Try again later.`,
            429,
          );
        }
        await response.body?.cancel();
        policy.onWait(
          `GitLab rate limit (HTTP 429): waiting ${waitSeconds}s as Retry-After asks (retry ${retry + 1}/${policy.maxRetries})`,
        );
        await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000));
        continue;
      }
      throw await describeFailure(method, url, response);
    }
  };
}

/** GITLAB_HOST (default https://gitlab.com) and GITLAB_TOKEN from the environment; the token is required. */
export function gitlabConnectionFromEnv(env: NodeJS.ProcessEnv): GitlabConnection {
  const token = env.GITLAB_TOKEN?.trim();
  if (!token) {
    throw new GitlabApiError(
      'GITLAB_TOKEN is not set: create a personal or project access token with the `api` scope',
    );
  }
  const rawHost = env.GITLAB_HOST?.trim() || 'https://gitlab.com';
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
  return { host: host.href.replace(/\/+$/, ''), token };
}

export function createGitlabClient(
  connection: GitlabConnection,
  retryPolicy: Partial<RetryPolicy> = {},
): GitlabClient {
  const requesterFn = createRequesterFn(
    (_serviceOptions, requestOptions) => Promise.resolve(requestOptions),
    createRequestHandler({ ...DEFAULT_RETRY_POLICY, ...retryPolicy }),
  );
  return new Gitlab({ host: connection.host, token: connection.token, requesterFn, queryTimeout: 60_000 });
}
