import { parseDotenv } from '../src/gitlab/promote';
import { startFakeGitlab, type FakeGitlab, type FakeJob, type FakePipeline } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

const DIGEST = 'sha256:' + 'd'.repeat(64);
const SHA = '1234567890abcdef1234567890abcdef12345678';

let fake: FakeGitlab;
let root: FakePipeline;
let planned: FakePipeline;
beforeEach(async () => {
  fake = await startFakeGitlab();
  // As .gitlab-ci.yml builds it: the parent's `apps` trigger runs the planned pipeline, which triggers one per app.
  root = fake.addPipeline({ status: 'success', sha: SHA });
  fake.addJob(root.id, { name: 'plan', stage: 'plan', status: 'success' });
  planned = fake.addPipeline({ status: 'manual', sha: SHA, source: 'parent_pipeline' });
  fake.addBridge(root.id, {
    name: 'apps',
    stage: 'trigger',
    status: 'success',
    downstreamPipelineId: planned.id,
  });
});
afterEach(() => fake.stop());

type DigestSource = 'dotenv artifact' | 'build log' | 'none';

/** An app pipeline waiting at its manual production deploy (next to the manual rollback, which must not be chosen). */
function appWaitingForProduction(app: string, digestSource: DigestSource = 'dotenv artifact'): FakeJob {
  const child = fake.addPipeline({ status: 'manual', sha: SHA, source: 'parent_pipeline' });
  fake.addBridge(planned.id, {
    name: `${app}-pipeline`,
    stage: 'apps',
    status: 'success',
    downstreamPipelineId: child.id,
  });
  fake.addJob(child.id, {
    name: `${app}-build`,
    stage: 'build',
    status: 'success',
    ...(digestSource === 'dotenv artifact' && {
      artifacts: { 'slipway-build.env': `IMAGE_DIGEST=registry.example.com/${app}@${DIGEST}\n` },
    }),
    log:
      digestSource === 'build log'
        ? `pushing\nIMAGE_DIGEST=registry.example.com/${app}@${DIGEST}\nJob succeeded\n`
        : 'pushing\n',
  });
  fake.addJob(child.id, { name: `${app}-deploy-staging`, stage: 'deploy', status: 'success' });
  fake.addJob(child.id, { name: `${app}-rollback-production`, stage: 'deploy', status: 'manual' });
  return fake.addJob(child.id, { name: `${app}-deploy-production`, stage: 'deploy', status: 'manual' });
}

/** A played job is running at its first poll and finished with `outcome` at the next. */
function runJobsToCompletion(outcome: 'success' | 'failed') {
  fake.onJobPoll = (job) => {
    if (job.status === 'pending') job.status = 'running';
    else if (job.status === 'running') job.status = outcome;
  };
}

const promoteArgs = (...extra: string[]) => ['promote', '--interval', '0.01', '--timeout', '30', ...extra];

describe('slipway gitlab promote', () => {
  it('shows the commit and digest, plays the production job with --yes and follows it', async () => {
    const production = appWaitingForProduction('weather-app');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('about to deploy weather-app to production:');
    expect(result.stdout).toContain(`job:          weather-app-deploy-production (#${production.id})`);
    expect(result.stdout).toContain(`commit:       ${SHA} (main)`);
    expect(result.stdout).toMatch(
      new RegExp(
        `image digest: registry.example.com/weather-app@${DIGEST} \\(from weather-app-build \\(#\\d+\\) slipway-build.env\\)`,
      ),
    );
    expect(fake.requests.filter((r) => r.path.endsWith('/play'))).toHaveLength(1);
    expect(result.stdout).toContain(`job weather-app-deploy-production (#${production.id}): running`);
    expect(result.stdout).toContain(`job weather-app-deploy-production (#${production.id}): success`);
    expect(result.stdout).toContain('deployed weather-app to production');
  });

  it('asks at a terminal and plays only after yes', async () => {
    appWaitingForProduction('weather-app');
    runJobsToCompletion('success');
    const declined = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id)), {
      typed: 'n\n',
    });
    expect(declined.exitCode).toBe(1);
    expect(declined.stdout).toContain('Deploy to production? [y/N] ');
    expect(declined.stdout).toContain('not deployed: cancelled at the prompt');
    expect(fake.requests.filter((r) => r.path.endsWith('/play'))).toHaveLength(0);

    const accepted = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id)), {
      typed: 'yes\n',
    });
    expect(accepted.exitCode).toBe(0);
    expect(fake.requests.filter((r) => r.path.endsWith('/play'))).toHaveLength(1);
  });

  it('refuses without a terminal and without --yes, before calling GitLab', async () => {
    appWaitingForProduction('weather-app');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id)));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'refusing to deploy to production without confirmation: stdin is not a terminal; pass --yes',
    );
    expect(fake.requests).toHaveLength(0);
  });

  it('uses the latest pipeline of the default branch when no pipeline is given', async () => {
    appWaitingForProduction('weather-app');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--yes'));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`latest pipeline on main: #${root.id}`);
  });

  it('needs --app when several apps wait, and picks the named one', async () => {
    appWaitingForProduction('weather-app');
    const news = appWaitingForProduction('news-app');
    runJobsToCompletion('success');
    const ambiguous = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(ambiguous.exitCode).toBe(1);
    expect(ambiguous.stderr).toContain('several manual production jobs');
    expect(ambiguous.stderr).toContain('choose one with --app');
    const chosen = await runSlipwayGitlab(
      fake,
      promoteArgs('--pipeline', String(root.id), '--app', 'news-app', '--yes'),
    );
    expect(chosen.exitCode).toBe(0);
    expect(fake.requests.filter((r) => r.path.endsWith('/play')).map((r) => r.path)).toEqual([
      `/api/v4/projects/demo-group%2Fslipway/jobs/${news.id}/play`,
    ]);
  });

  it('reads the digest from the build log when the dotenv is no plain artifact', async () => {
    appWaitingForProduction('weather-app', 'build log');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.stdout).toMatch(
      new RegExp(
        `image digest: registry.example.com/weather-app@${DIGEST} \\(from the log of weather-app-build`,
      ),
    );
    expect(result.exitCode).toBe(0);
  });

  it('says the digest is unknown when nothing records it, and fails when the deploy fails', async () => {
    appWaitingForProduction('weather-app', 'none');
    runJobsToCompletion('failed');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.stdout).toMatch(
      /image digest: unknown: weather-app-build \(#\d+\) has neither slipway-build.env nor an IMAGE_DIGEST line in its log/,
    );
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('production deploy of weather-app did not succeed: failed');
  });

  it('explains when no production job waits', async () => {
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `no manual production deploy job in pipeline #${root.id} (it has no manual jobs waiting)`,
    );
  });

  it('does not mistake the manual rollback for the deploy', async () => {
    const production = appWaitingForProduction('weather-app');
    production.status = 'success';
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('(manual jobs: weather-app-rollback-production)');
    expect(fake.requests.filter((r) => r.path.endsWith('/play'))).toHaveLength(0);
  });

  it('names a missing pipeline through the 404 message', async () => {
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', '999999', '--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /GET \/api\/v4\/projects\/demo-group%2Fslipway\/pipelines\/999999 failed: HTTP 404/,
    );
  });
});

describe('parseDotenv', () => {
  it('reads KEY=VALUE lines and strips quotes', () => {
    expect(parseDotenv(`IMAGE_DIGEST="${DIGEST}"\n# comment\nIMAGE_REF=r/app\n`)).toEqual({
      IMAGE_DIGEST: DIGEST,
      IMAGE_REF: 'r/app',
    });
  });
});
