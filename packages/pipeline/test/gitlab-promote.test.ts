import { parseDotenv } from '../src/gitlab/promote';
import { startFakeGitlab, type FakeGitlab, type FakeJob, type FakePipeline } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

const DIGEST = 'sha256:' + 'd'.repeat(64);
const SHA = '1234567890abcdef1234567890abcdef12345678';

let fake: FakeGitlab;
let root: FakePipeline;
beforeEach(async () => {
  fake = await startFakeGitlab();
  root = fake.addPipeline({ status: 'success', sha: SHA });
  fake.addJob(root.id, { name: 'plan', stage: 'plan', status: 'success' });
});
afterEach(() => fake.stop());

/** A child pipeline for `app` waiting at its manual production job. */
function childWaitingForProduction(app: string): FakeJob {
  const child = fake.addPipeline({ status: 'manual', sha: SHA, source: 'parent_pipeline' });
  fake.addBridge(root.id, { name: app, stage: 'trigger', status: 'success', downstreamPipelineId: child.id });
  fake.addJob(child.id, {
    name: 'build',
    stage: 'build',
    status: 'success',
    artifacts: { 'build.env': `IMAGE_REF=registry.example.com/${app}\nIMAGE_DIGEST=${DIGEST}\n` },
  });
  fake.addJob(child.id, { name: 'deploy-staging', stage: 'staging', status: 'success' });
  return fake.addJob(child.id, { name: 'deploy-production', stage: 'production', status: 'manual' });
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
    const production = childWaitingForProduction('weather-app');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('about to deploy weather-app to production:');
    expect(result.stdout).toContain(`job:          deploy-production (#${production.id})`);
    expect(result.stdout).toContain(`commit:       ${SHA} (main)`);
    expect(result.stdout).toMatch(
      new RegExp(`image digest: ${DIGEST} \\(from build \\(#\\d+\\) build.env\\)`),
    );
    expect(fake.requests.filter((r) => r.path.endsWith('/play'))).toHaveLength(1);
    expect(result.stdout).toContain(`job deploy-production (#${production.id}): running`);
    expect(result.stdout).toContain(`job deploy-production (#${production.id}): success`);
    expect(result.stdout).toContain('deployed weather-app to production');
  });

  it('asks at a terminal and plays only after yes', async () => {
    childWaitingForProduction('weather-app');
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
    childWaitingForProduction('weather-app');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id)));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'refusing to deploy to production without confirmation: stdin is not a terminal; pass --yes',
    );
    expect(fake.requests).toHaveLength(0);
  });

  it('uses the latest pipeline of the default branch when no pipeline is given', async () => {
    childWaitingForProduction('weather-app');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--yes'));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`latest pipeline on main: #${root.id}`);
  });

  it('needs --app when several apps wait, and picks the named one', async () => {
    childWaitingForProduction('weather-app');
    const news = childWaitingForProduction('news-app');
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

  it('says the digest is unknown when the build left no dotenv, and fails when the deploy fails', async () => {
    childWaitingForProduction('weather-app');
    runJobsToCompletion('failed');
    const result = await runSlipwayGitlab(
      fake,
      promoteArgs('--pipeline', String(root.id), '--yes', '--dotenv', 'image.env'),
    );
    expect(result.stdout).toMatch(/image digest: unknown: build \(#\d+\) has no artifact image.env/);
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
