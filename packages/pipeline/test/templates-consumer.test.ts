// A consumer repository somewhere else: it includes the templates with `include: remote` from a loopback HTTP server
// that serves ci-templates/, for two apps at once, with its own inputs. gitlab-ci-local expands it; the expanded
// pipeline must have the jobs, stages, rules and needs the README promises, for a branch, a develop and a tag pipeline.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { readTemplate } from '../src/templates/template-file';
import { removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, parseListJson, runGitlabCiLocal, type ListedJob } from './support/gitlab-ci-local';

const TEMPLATES_DIR = path.join(REPOSITORY_ROOT, 'ci-templates');

/**
 * An older release of the templates, as another app may pin it: same inputs and job names, different behaviour (its
 * lint base sets a variable, its deploy functions print another prefix).
 */
function olderRelease(name: string, text: string): string {
  if (name === 'lint.yml') {
    return text.replace(
      "    TURBO_TELEMETRY_DISABLED: '1'\n",
      "    TURBO_TELEMETRY_DISABLED: '1'\n    SLIPWAY_TEMPLATES: v1\n",
    );
  }
  if (name === 'deploy.yml')
    return text.replace('slipway_say() { echo "slipway: $*"; }', 'slipway_say() { echo "slipway-v1: $*"; }');
  return text;
}

/**
 * Serves ci-templates/*.yml read-only, as a GitLab raw-file URL would: /templates/ the current ones, /v1/templates/
 * an older release; anything else is 404.
 */
async function serveTemplates(): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const match = /^\/(v1\/)?templates\/([a-z]+\.yml)$/.exec(request.url ?? '');
    const name = match?.[2];
    requests.push(request.url ?? '');
    if (!name) {
      response.writeHead(404).end();
      return;
    }
    try {
      const current = readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
      const body = match[1] ? olderRelease(name, current) : current;
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/templates`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function consumerPipeline(base: string): string {
  const api = { 'job-prefix': 'api', 'app-name': 'api', 'app-path': 'services/api' };
  const web = { 'job-prefix': 'web', 'app-name': 'web', 'app-path': 'services/web' };
  const remote = (file: string, inputs: Record<string, unknown>) => ({ remote: `${base}/${file}`, inputs });
  return stringify({
    stages: ['lint', 'test', 'build', 'scan', 'staging', 'production'],
    // A consumer's defaults: fine for checks, unsafe for delivery jobs (a retry would re-run a deploy that rolled back).
    default: {
      retry: 2,
      after_script: ['echo consumer after_script'],
      tags: ['consumer-runner'],
    },
    include: [
      remote('lint.yml', api),
      remote('test.yml', {
        ...api,
        'integration-enabled': true,
        'integration-services': [
          { name: 'postgres:16.10', alias: 'postgres', variables: { POSTGRES_PASSWORD: 'ci' } },
        ],
      }),
      remote('build.yml', { ...api, builder: 'docker' }),
      remote('release.yml', { 'job-prefix': 'api', 'app-name': 'api' }),
      remote('trivy.yml', { 'job-prefix': 'api', severity: 'CRITICAL' }),
      remote('deploy.yml', {
        'job-prefix': 'api',
        'app-name': 'api',
        stage: 'staging',
        environment: 'staging',
        'deployment-tier': 'staging',
        url: 'https://api-staging.example.com',
        'smoke-path': '/api/ping',
      }),
      remote('deploy.yml', {
        'job-prefix': 'api',
        'app-name': 'api',
        stage: 'production',
        environment: 'production',
        'deployment-tier': 'production',
        url: 'https://api.example.com',
        'deploy-if': '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_TAG',
        when: 'manual',
        'promote-from': 'staging',
      }),
      // A second app in the same pipeline, GitFlow style: develop deploys its staging. It pins an older release of
      // lint.yml and deploy.yml; hidden jobs of the two releases must not mix.
      { remote: `${base.replace('/templates', '/v1/templates')}/lint.yml`, inputs: web },
      remote('test.yml', web),
      remote('build.yml', web),
      {
        remote: `${base.replace('/templates', '/v1/templates')}/deploy.yml`,
        inputs: {
          'job-prefix': 'web',
          'app-name': 'web',
          stage: 'staging',
          environment: 'staging',
          'deployment-tier': 'staging',
          url: 'https://web-staging.example.com',
          'deploy-if': '$CI_COMMIT_BRANCH == "develop"',
          driver: 'script',
          'deploy-command': './deploy.sh "$IMAGE_DIGEST"',
          'rollback-job': false,
        },
      },
    ],
  });
}

describe('a consumer that includes the templates with include: remote', () => {
  let server: Awaited<ReturnType<typeof serveTemplates>>;
  let repo: string;

  beforeAll(async () => {
    server = await serveTemplates();
    repo = createGitRepo({ '.gitlab-ci.yml': consumerPipeline(server.url) });
  });
  afterAll(async () => {
    removeDir(repo);
    await server.close();
  });

  async function listJobs(variables: Record<string, string> = {}, extraArgs: string[] = []) {
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--list-json', ...extraArgs], variables });
    expect(result.stderr).toContain('json schema validated');
    expect(result.code).toBe(0);
    return new Map(parseListJson(result).map((job) => [job.name, job]));
  }

  const needsOf = (job: ListedJob | undefined) => (job?.needs ?? []).map((need) => need.job);

  it('expands into both apps’ jobs, in the right stages, on the default branch', async () => {
    const jobs = await listJobs();
    expect(server.requests).toEqual(
      expect.arrayContaining(['/templates/deploy.yml', '/templates/build.yml']),
    );
    const summary = Object.fromEntries(
      [...jobs.values()].map((job) => [job.name, `${job.stage}/${job.when}`]),
    );
    expect(summary).toEqual({
      'api-lint': 'lint/on_success',
      'api-test': 'test/on_success',
      'api-integration-test': 'test/on_success',
      'api-build': 'build/on_success',
      'api-release': 'build/never',
      'api-trivy': 'scan/on_success',
      'api-deploy-staging': 'staging/on_success',
      'api-rollback-staging': 'staging/manual',
      'api-deploy-production': 'production/manual',
      'api-rollback-production': 'production/manual',
      'web-lint': 'lint/on_success',
      'web-test': 'test/on_success',
      'web-integration-test': 'test/never',
      'web-build': 'build/on_success',
      'web-deploy-staging': 'staging/never',
      'web-rollback-staging': 'staging/never',
    });
  }, 120_000);

  it('orders the deploys with needs, and production waits for staging', async () => {
    const jobs = await listJobs();
    expect(needsOf(jobs.get('api-lint'))).toEqual([]);
    expect(needsOf(jobs.get('api-trivy'))).toEqual(['api-build', 'api-release']);
    expect(jobs.get('api-deploy-production')?.needs).toEqual(
      expect.arrayContaining([
        { job: 'api-build', artifacts: true, optional: true },
        { job: 'api-trivy', artifacts: false, optional: true },
        { job: 'api-test', artifacts: false, optional: true },
        { job: 'api-deploy-staging', artifacts: false, optional: true },
      ]),
    );
    expect(needsOf(jobs.get('api-rollback-production'))).toEqual(['api-deploy-production']);
    // The production gate is non-blocking (the pipeline ends green while it waits); the rollbacks never block.
    expect(jobs.get('api-deploy-production')?.allow_failure).toBe(true);
    expect(jobs.get('api-rollback-staging')?.allow_failure).toBe(true);
  }, 120_000);

  it('keeps the kill switches and the delivery switch in the rules', async () => {
    const jobs = await listJobs();
    expect(jobs.get('web-integration-test')?.rules?.[0]).toEqual({ if: '"false" != "true"', when: 'never' });
    expect(jobs.get('api-deploy-production')?.rules).toEqual([
      { if: '$SLIPWAY_DELIVERY_DISABLED == "true"', when: 'never' },
      {
        if: String.raw`$CI_COMMIT_TAG && $CI_COMMIT_TAG !~ /^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$/`,
        when: 'never',
      },
      {
        if: '"manual" == "manual" && ($CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_TAG)',
        when: 'manual',
        allow_failure: true,
      },
      { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_TAG', when: 'on_success' },
    ]);
    const checksOnly = await listJobs({ SLIPWAY_DELIVERY_DISABLED: 'true' });
    const running = [...checksOnly.values()].filter((job) => job.when !== 'never').map((job) => job.name);
    expect(running.sort()).toEqual(['api-integration-test', 'api-lint', 'api-test', 'web-lint', 'web-test']);
  }, 120_000);

  it('deploys web to staging from develop (GitFlow) and api nowhere', async () => {
    const jobs = await listJobs({ CI_COMMIT_BRANCH: 'develop', CI_COMMIT_REF_NAME: 'develop' });
    expect(jobs.get('web-deploy-staging')?.when).toBe('on_success');
    expect(jobs.get('web-rollback-staging')?.when).toBe('never');
    expect(jobs.get('api-deploy-staging')?.when).toBe('never');
    expect(jobs.get('api-deploy-production')?.when).toBe('never');
  }, 120_000);

  it('releases instead of building on a semver tag, and offers production', async () => {
    const jobs = await listJobs({ CI_COMMIT_TAG: 'v1.4.0', CI_COMMIT_REF_NAME: 'v1.4.0' }, [
      '--unset-variable',
      'CI_COMMIT_BRANCH',
    ]);
    expect(jobs.get('api-build')?.when).toBe('never');
    expect(jobs.get('api-release')?.when).toBe('on_success');
    expect(jobs.get('api-trivy')?.when).toBe('on_success');
    expect(jobs.get('api-deploy-staging')?.when).toBe('never');
    expect(jobs.get('api-deploy-production')?.when).toBe('manual');
    const notSemver = await listJobs({ CI_COMMIT_TAG: 'nightly', CI_COMMIT_REF_NAME: 'nightly' }, [
      '--unset-variable',
      'CI_COMMIT_BRANCH',
    ]);
    expect(notSemver.get('api-release')?.when).toBe('never');
    // Nothing is built or released for a tag that is not a release, so nothing scans or deploys: no job whose
    // needs are all optional (and all absent) starts with no IMAGE_DIGEST.
    expect(notSemver.get('api-trivy')?.when).toBe('never');
    expect(notSemver.get('api-deploy-production')?.when).toBe('never');
    expect(notSemver.get('api-rollback-production')?.when).toBe('never');
    expect(notSemver.get('api-lint')?.when).toBe('on_success');
  }, 120_000);

  it("keeps the consumer's default: away from delivery jobs, except the runner tags", async () => {
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--preview'], stdoutThroughFile: true });
    expect(result.code).toBe(0);
    const expanded = parse(result.stdout) as Record<string, Record<string, unknown>>;
    const delivery = [
      'api-build',
      'api-release',
      'api-trivy',
      'api-deploy-staging',
      'api-rollback-staging',
      'api-deploy-production',
      'web-deploy-staging',
    ];
    for (const job of delivery) {
      expect([job, expanded[job]?.inherit]).toEqual([job, { default: ['tags'] }]);
      expect([job, expanded[job]?.after_script]).toEqual([job, undefined]);
    }
    // Checks inherit the defaults as they are.
    expect(expanded['api-test']?.after_script).toEqual(['echo consumer after_script']);
    expect(expanded['api-test']?.inherit).toBeUndefined();
  }, 120_000);

  it('keeps each app on the template release it pinned, although both define the same hidden jobs', async () => {
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--preview'], stdoutThroughFile: true });
    expect(result.code).toBe(0);
    const expanded = parse(result.stdout) as Record<string, Record<string, unknown>>;
    expect(expanded['web-lint']?.variables).toMatchObject({ SLIPWAY_TEMPLATES: 'v1' });
    expect(expanded['api-lint']?.variables).not.toHaveProperty('SLIPWAY_TEMPLATES');
    const functionsOf = (job: string) => (expanded[job]?.script as string[])[0];
    expect(functionsOf('web-deploy-staging')).toContain('echo "slipway-v1: $*"');
    expect(functionsOf('api-deploy-staging')).toContain('echo "slipway: $*"');
    expect(functionsOf('api-deploy-production')).toContain('echo "slipway: $*"');
  }, 120_000);

  it('expands the deploy job with its environment, resource group and the shared verifier', async () => {
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--preview'], stdoutThroughFile: true });
    expect(result.code).toBe(0);
    const expanded = parse(result.stdout) as Record<string, Record<string, unknown>>;
    // --preview leaves hidden jobs out; the verifier comes from the template itself.
    const verifyJob = readTemplate(path.join(TEMPLATES_DIR, 'deploy.yml')).body['.slipway-deploy-verify'];
    const verifier = (verifyJob as { script: string[] }).script[0];
    expect(verifier).toContain('SLIPWAY_VERIFY_URL');

    const staging = expanded['api-deploy-staging']!;
    expect(staging).toMatchObject({
      stage: 'staging',
      interruptible: false,
      resource_group: 'staging/api',
      environment: {
        name: 'staging/api',
        url: 'https://api-staging.example.com',
        deployment_tier: 'staging',
      },
      variables: expect.objectContaining({
        SLIPWAY_VERIFY_URL: 'https://api-staging.example.com',
        SLIPWAY_SMOKE_PATH: '/api/ping',
        SLIPWAY_EXPECT_COMMIT: '$CI_COMMIT_SHA',
      }),
    });
    const script = staging.script as string[];
    // A deploy with a content key verifies by content alone (a reused image was built by another commit), so one
    // line between the deploy and the verifier drops the expected commit when SLIPWAY_EXPECT_CONTENT_KEY is set.
    expect(script).toHaveLength(5);
    expect(script[1]).toBe('slipway_deploy');
    expect(script[2]).toBe(`if [ -n "\${SLIPWAY_EXPECT_CONTENT_KEY:-}" ]; then SLIPWAY_EXPECT_COMMIT=''; fi`);
    expect(script[3]).toBe(verifier);
    expect(script[4]).toBe('slipway_deployed');
    expect(expanded['web-deploy-staging']?.resource_group).toBe('staging/web');

    // Each app keeps its own values although both include the same templates.
    expect(expanded['api-build']).toMatchObject({
      image: { name: '$SLIPWAY_DOCKER_IMAGE' },
      services: [expect.objectContaining({ name: '$SLIPWAY_DIND_IMAGE', alias: 'docker' })],
      variables: expect.objectContaining({ SLIPWAY_IMAGE: '$CI_REGISTRY_IMAGE/api' }),
    });
    expect(expanded['web-build']).toMatchObject({
      image: { name: '$SLIPWAY_BUILDAH_IMAGE' },
      variables: expect.objectContaining({ SLIPWAY_IMAGE: '$CI_REGISTRY_IMAGE/web' }),
    });
    expect(expanded['api-integration-test']?.services).toEqual([
      expect.objectContaining({
        name: 'postgres:16.10',
        alias: 'postgres',
        variables: { POSTGRES_PASSWORD: 'ci' },
      }),
    ]);
    expect(expanded['api-test']).toMatchObject({
      coverage: '/Lines\\s*:\\s*\\d+(?:\\.\\d+)?%/',
      artifacts: {
        reports: {
          junit: 'services/api/reports/junit.xml',
          coverage_report: {
            coverage_format: 'cobertura',
            path: 'services/api/coverage/cobertura-coverage.xml',
          },
        },
      },
    });
    expect(expanded['api-trivy']?.variables).toMatchObject({ SLIPWAY_SEVERITY: 'CRITICAL' });
  }, 120_000);
});
