import {
  createGitlabClient,
  gitlabConnectionFromEnv,
  GitlabApiError,
  parseRetryAfter,
} from '../src/gitlab/gitlab-client';
import { startFakeGitlab, type FakeGitlab, type FakeVariable } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';
import { unusedLoopbackUrl } from './support/fake-deployment';

let fake: FakeGitlab;
beforeEach(async () => {
  fake = await startFakeGitlab();
});
afterEach(() => fake.stop());

function client(token = fake.token, waits: string[] = []) {
  return createGitlabClient({ host: fake.url, token }, { onWait: (message) => waits.push(message) });
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
      /HTTP 429 — rate-limited by GitLab after 1 attempt\(s\); it asks to retry after 120s/,
    );
    expect(fake.requests).toHaveLength(1);
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
