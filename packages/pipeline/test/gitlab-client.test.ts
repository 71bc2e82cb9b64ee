import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createGitlabClient,
  gitlabConnectionFromEnv,
  GitlabApiError,
  parseRetryAfter,
  type RetryPolicy,
} from '../src/gitlab/gitlab-client';
import { maskSecrets } from '../src/command-line/io';
import { startFakeGitlab, type FakeGitlab, type FakeVariable } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';
import { unusedLoopbackUrl } from './support/fake-deployment';

let fake: FakeGitlab;
beforeEach(async () => {
  fake = await startFakeGitlab();
});
afterEach(() => fake.stop());

function client(token = fake.token, waits: string[] = [], policy: Partial<RetryPolicy> = {}) {
  return createGitlabClient(
    { host: fake.url, token },
    { onWait: (message) => waits.push(message), sleep: () => Promise.resolve(), ...policy },
  );
}

/** A loopback server that records each request's headers and answers with `respond`. */
async function recordingServer(
  respond: (request: http.IncomingMessage, response: http.ServerResponse) => void,
): Promise<{ url: string; headers: http.IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((request, response) => {
    headers.push(request.headers);
    respond(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    headers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function variable(index: number): FakeVariable {
  return {
    key: `VAR_${index}`,
    value: `value-${index}`,
    variable_type: 'env_var',
    protected: false,
    masked: false,
    hidden: false,
    raw: true,
    environment_scope: '*',
    description: null,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<GitlabApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GitlabApiError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('GitLab client', () => {
  it('follows Link rel="next" through every page', async () => {
    fake.variables = Array.from({ length: 45 }, (_, i) => variable(i));
    const variables = await client().ProjectVariables.all(fake.project.path_with_namespace, { perPage: 20 });
    expect(variables.map((v) => v.key)).toEqual(fake.variables.map((v) => v.key));
    const pages = fake.requests
      .filter((r) => r.path.endsWith('/variables'))
      .map((r) => r.query.get('page') ?? '1');
    expect(pages).toEqual(['1', '2', '3']);
  });

  it('reports pagination headers (x-next-page, x-total-pages) when asked for them', async () => {
    fake.variables = Array.from({ length: 5 }, (_, i) => variable(i));
    const { paginationInfo } = await client().ProjectVariables.all(fake.project.id, {
      perPage: 2,
      maxPages: 1,
      showExpanded: true,
    });
    expect(paginationInfo).toMatchObject({ total: 5, totalPages: 3, current: 1, next: 2 });
  });

  it('turns 401 into a one-line message that blames the token without showing it', async () => {
    const error = await failureOf(client('glpat-wrong-token-xyz').ProjectVariables.all(fake.project.id));
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      `GitLab API GET /api/v4/projects/${fake.project.id}/variables failed: HTTP 401 — GITLAB_TOKEN was rejected (expired, revoked or mistyped) (401 Unauthorized)`,
    );
    expect(error.message).not.toContain('glpat-wrong-token-xyz');
  });

  it('explains 403 and 404', async () => {
    fake.faults.push({ path: /\/variables$/, status: 403, times: 1, body: { message: '403 Forbidden' } });
    const forbidden = await failureOf(client().ProjectVariables.all(fake.project.id));
    expect(forbidden.message).toMatch(/HTTP 403 — the token lacks permission: it needs the `api` scope/);
    const missing = await failureOf(client().ProjectVariables.all('someone/else'));
    expect(missing.message).toMatch(
      /HTTP 404 — not found: check the project path or ID.*\(404 Project Not Found\)/,
    );
  });

  it('waits as long as Retry-After asks on 429, then succeeds', async () => {
    fake.variables = [variable(1)];
    fake.faults.push({ path: /\/variables$/, status: 429, times: 1, headers: { 'retry-after': '1' } });
    const waits: string[] = [];
    const variables = await client(fake.token, waits).ProjectVariables.all(fake.project.id);
    expect(variables).toHaveLength(1);
    expect(waits).toEqual(['GitLab rate limit (HTTP 429): waiting 1s as Retry-After asks (retry 1/3)']);
  });

  it('gives up on 429 when Retry-After is longer than it will wait', async () => {
    fake.faults.push({ path: /\/variables$/, status: 429, times: 5, headers: { 'retry-after': '120' } });
    const error = await failureOf(client().ProjectVariables.all(fake.project.id));
    expect(error.status).toBe(429);
    expect(error.message).toMatch(
      /HTTP 429 — rate-limited by GitLab; it would mean waiting 120s as Retry-After asks, longer than the 60s slipway waits\. Try again in 120s/,
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('gives each retry its own time budget, so a retry after a long wait is still sent', async () => {
    // gitbeaker's one AbortSignal.timeout per call would have expired during the wait, failing the retry unsent.
    fake.variables = [variable(1)];
    fake.faults.push({ path: /\/variables$/, status: 429, times: 1, headers: { 'retry-after': '1' } });
    const waitLongerThanABudget = () => new Promise<void>((resolve) => setTimeout(resolve, 400));
    const variables = await client(fake.token, [], {
      requestTimeoutMs: 200,
      sleep: waitLongerThanABudget,
    }).ProjectVariables.all(fake.project.id);
    expect(variables).toHaveLength(1);
    expect(fake.requests).toHaveLength(2);
  });

  it('waits until RateLimit-Reset when a 429 has no Retry-After, and says so', async () => {
    fake.variables = [variable(1)];
    const now = Date.parse('2026-01-01T00:00:00Z');
    fake.faults.push({
      path: /\/variables$/,
      status: 429,
      times: 1,
      headers: { 'ratelimit-reset': String(now / 1000 + 30), 'ratelimit-remaining': '0' },
    });
    const waits: string[] = [];
    const slept: number[] = [];
    const variables = await client(fake.token, waits, {
      now: () => now,
      sleep: (ms) => (slept.push(ms), Promise.resolve()),
    }).ProjectVariables.all(fake.project.id);
    expect(variables).toHaveLength(1);
    expect(slept).toEqual([30_000]);
    expect(waits).toEqual([
      'GitLab rate limit (HTTP 429): waiting 30s until the rate limit resets at 2026-01-01T00:00:30.000Z (RateLimit-Reset) (retry 1/3)',
    ]);
  });

  it("backs off on a proxy's HTML 429 without rate-limit headers, and says truthfully why it gave up", async () => {
    fake.faults.push({
      path: /\/variables$/,
      status: 429,
      times: 10,
      rawBody:
        '<html><head><title>429 Too Many Requests</title></head><body><center>nginx</center></body></html>',
    });
    const waits: string[] = [];
    const slept: number[] = [];
    const error = await failureOf(
      client(fake.token, waits, { sleep: (ms) => (slept.push(ms), Promise.resolve()) }).ProjectVariables.all(
        fake.project.id,
      ),
    );
    expect(slept).toEqual([1000, 2000, 4000]);
    expect(waits[0]).toBe(
      'GitLab rate limit (HTTP 429): waiting 1s backing off: the answer had neither Retry-After nor RateLimit-Reset (retry 1/3)',
    );
    expect(waits.join('\n')).not.toContain('Retry-After asks');
    expect(error.message).toContain('still rate-limited after 4 attempt(s)');
    expect(error.message).toContain('an HTML page titled "429 Too Many Requests", not GitLab\'s API');
    expect(fake.requests).toHaveLength(4);
  });

  it('never sends the token to another origin: a redirect fails the call', async () => {
    const elsewhere = await recordingServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('[]');
    });
    const redirecting = await recordingServer((request, response) => {
      response.writeHead(302, { location: `${elsewhere.url}${request.url}` });
      response.end();
    });
    try {
      const error = await failureOf(
        createGitlabClient({ host: redirecting.url, token: fake.token }).ProjectVariables.all(1),
      );
      expect(error.message).toBe(
        `GitLab API GET /api/v4/projects/1/variables answered HTTP 302, a redirect to ${elsewhere.url}: ` +
          'slipway follows no redirects, so the token never leaves GITLAB_HOST; set GITLAB_HOST to the address GitLab really answers on',
      );
      expect(redirecting.headers[0]?.['private-token']).toBe(fake.token);
      expect(elsewhere.headers).toEqual([]);

      const run = await runSlipwayGitlab(fake, ['run', '--ref', 'main'], {
        env: { GITLAB_HOST: redirecting.url },
      });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('answered HTTP 302, a redirect to');
      expect(run.stdout + run.stderr).not.toMatch(/#undefined|is not a function/);
      expect(elsewhere.headers).toEqual([]);
    } finally {
      await Promise.all([elsewhere.close(), redirecting.close()]);
    }
  });

  it('checks the shape of every answer: a proxy page or a wrong shape is a clear error', async () => {
    const proxy = await recordingServer((request, response) => {
      if (request.method === 'POST') {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<html><title>Sign in</title></html>');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'not a list' }));
    });
    try {
      const run = await runSlipwayGitlab(fake, ['run', '--ref', 'main'], { env: { GITLAB_HOST: proxy.url } });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(
        /GitLab's answer to POST \/projects\/:id\/pipeline is not what its API documents \(the answer: .*; got string\); check that GITLAB_HOST is a GitLab instance/,
      );
      expect(run.stdout + run.stderr).not.toContain('#undefined');
    } finally {
      await proxy.close();
    }
    fake.onPipelinePoll = () => undefined;
    const pipeline = fake.addPipeline({ status: 'running' });
    fake.faults.push({
      path: /\/pipelines\/\d+\/jobs$/,
      status: 200,
      times: 1,
      body: { jobs: 'not a list' },
    });
    const follow = await runSlipwayGitlab(fake, ['promote', '--pipeline', String(pipeline.id), '--yes']);
    expect(follow.exitCode).toBe(1);
    expect(follow.stderr).toContain(
      `GitLab's answer to GET /pipelines/${pipeline.id}/jobs is not what its API documents`,
    );
    expect(follow.stderr).not.toContain('is not a function');
  });

  it('names connection refused as a network problem', async () => {
    const host = await unusedLoopbackUrl();
    const error = await failureOf(createGitlabClient({ host, token: 'x' }).ProjectVariables.all(1));
    expect(error.message).toBe(
      `cannot reach GitLab at ${host}: connection refused (ECONNREFUSED); check GITLAB_HOST`,
    );
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('refuses a token with whitespace or control characters, without echoing it', () => {
    for (const token of [
      'glpat-secret-value\r',
      'glpat-secret\nvalue',
      ' glpat-secret-value',
      'glpat\u0000x',
    ]) {
      let message = '';
      try {
        gitlabConnectionFromEnv({ GITLAB_TOKEN: token });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        'GITLAB_TOKEN contains whitespace or a control character (a line break copied with it?); set it to the token alone',
      );
    }
  });

  it('refuses plain http unless loopback or allowed, and a host with credentials without printing them', () => {
    const token = 'glpat-0123456789';
    expect(() =>
      gitlabConnectionFromEnv({ GITLAB_TOKEN: token, GITLAB_HOST: 'http://gitlab.example.com' }),
    ).toThrow(
      'GITLAB_HOST http://gitlab.example.com is plain http: the token would cross the network unencrypted. Use https, or set SLIPWAY_GITLAB_ALLOW_HTTP=true if this network is trusted',
    );
    expect(
      gitlabConnectionFromEnv({
        GITLAB_TOKEN: token,
        GITLAB_HOST: 'http://gitlab.example.com',
        SLIPWAY_GITLAB_ALLOW_HTTP: 'true',
      }).host,
    ).toBe('http://gitlab.example.com');
    for (const loopback of ['http://127.0.0.1:8080', 'http://localhost:3000', 'http://[::1]:3000']) {
      expect(gitlabConnectionFromEnv({ GITLAB_TOKEN: token, GITLAB_HOST: loopback }).host).toBe(loopback);
    }
    // Valid or not as a URL, a host with credentials is refused without echoing them.
    for (const withCredentials of [
      'https://me:hunter2secret@gitlab.example.com',
      'https://me:hunter2secret@gitlab example.com',
      'me:hunter2secret@gitlab.example.com',
    ]) {
      let message = '';
      try {
        gitlabConnectionFromEnv({ GITLAB_TOKEN: token, GITLAB_HOST: withCredentials });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toBe(
        'GITLAB_HOST must not contain credentials (user:password@ or user@ before the host); the token goes in GITLAB_TOKEN',
      );
    }
  });

  it('requires GITLAB_TOKEN and a valid GITLAB_HOST', () => {
    expect(() => gitlabConnectionFromEnv({})).toThrow(/GITLAB_TOKEN is not set/);
    expect(() => gitlabConnectionFromEnv({ GITLAB_TOKEN: 't', GITLAB_HOST: 'http://' })).toThrow(
      /GITLAB_HOST "http:\/\/" is not a valid URL/,
    );
    expect(gitlabConnectionFromEnv({ GITLAB_TOKEN: 't' })).toEqual({
      host: 'https://gitlab.com',
      token: 't',
    });
    expect(gitlabConnectionFromEnv({ GITLAB_TOKEN: 't', GITLAB_HOST: 'gitlab.example.com/' }).host).toBe(
      'https://gitlab.example.com',
    );
  });
});

describe('maskSecrets', () => {
  it('masks whole values, never parts of ordinary words', () => {
    expect(maskSecrets('project nonexistent: x is wrong', ['x'])).toBe(
      'project nonexistent: [masked] is wrong',
    );
    expect(maskSecrets('it is shorter than 8 characters', ['short'])).toBe('it is shorter than 8 characters');
    expect(maskSecrets('token=glpat-abc123;', ['glpat-abc123'])).toBe('token=[masked];');
  });

  it('masks every form of a value: as given, trimmed, URL-encoded and JSON-escaped', () => {
    const secret = 'p@ss/word+"quoted"\r';
    const text = [
      `raw ${secret.trim()}`,
      `url ${encodeURIComponent(secret)}`,
      `json ${JSON.stringify(secret)}`,
    ].join('\n');
    const masked = maskSecrets(text, [secret]);
    expect(masked).toBe('raw [masked]\nurl [masked]\njson "[masked]"');
  });
});

describe('secrets in messages', () => {
  it('masks the token even when GitLab echoes it back in an error', async () => {
    fake.faults.push({
      path: /\/pipeline$/,
      status: 400,
      times: 1,
      body: { message: `bad ref; token ${fake.token}` },
    });
    const result = await runSlipwayGitlab(fake, ['run', '--ref', 'main']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('token [masked]');
    expect(result.stdout + result.stderr).not.toContain(fake.token);
  });

  it('refuses a token with a stray carriage return before any request, and never prints it', async () => {
    const result = await runSlipwayGitlab(fake, ['run', '--ref', 'main'], {
      env: { GITLAB_TOKEN: `${fake.token}\r` },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('GITLAB_TOKEN contains whitespace or a control character');
    expect(result.stdout + result.stderr).not.toContain(fake.token);
    expect(fake.requests).toHaveLength(0);
  });

  it('masks a one-letter token only where it stands as a value, never inside words', async () => {
    const result = await runSlipwayGitlab(fake, ['setup', '--ssh-key-file', '/nonexistent/x/id_ed25519'], {
      env: { GITLAB_TOKEN: 'x' },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      '--ssh-key-file: cannot read "/nonexistent/[masked]/id_ed25519" (ENOENT)',
    );
  });

  it('says which project setting is missing', async () => {
    const result = await runSlipwayGitlab(fake, ['run', '--ref', 'main'], {
      env: { CI_PROJECT_PATH: undefined },
    });
    expect(result).toMatchObject({ exitCode: 2 });
    expect(result.stderr).toMatch(/no project: pass --project GROUP\/NAME/);
  });

  it('reports a network error as one line with exit 1', async () => {
    const host = await unusedLoopbackUrl();
    const result = await runSlipwayGitlab(fake, ['run', '--ref', 'main'], { env: { GITLAB_HOST: host } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `slipway gitlab run: cannot reach GitLab at ${host}: connection refused (ECONNREFUSED); check GITLAB_HOST\n`,
    );
  });
});
