import { imageDigestFromLog, parseDotenv } from '../src/gitlab/promote';
import { startFakeGitlab, type FakeGitlab, type FakeJob, type FakePipeline } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

const DIGEST = 'sha256:' + 'd'.repeat(64);
const SHA = '1234567890abcdef1234567890abcdef12345678';

let fake: FakeGitlab;
let root: FakePipeline;
let planned: FakePipeline;
beforeEach(async () => {
  fake = await startFakeGitlab();
  fake.refHeads.main = SHA;
  // As .gitlab-ci.yml builds it: the parent's `apps` trigger runs the planned pipeline, which triggers one per app.
  // Every status above the app pipelines' jobs is GitLab's own composite, computed by the fake.
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

/** What build.yml's job log holds on a GitLab.com runner, before the runner adds its timestamps. */
const buildLog = (app: string) =>
  [
    '\x1b[0KRunning with gitlab-runner 18.5.0 (abcdef12)\x1b[0;m',
    `\x1b[32;1m$ echo "IMAGE_DIGEST=$SLIPWAY_IMAGE@$(cat slipway-digest.txt)" | tee slipway-build.env\x1b[0;m`,
    `IMAGE_DIGEST=registry.example.com/${app}@${DIGEST}`,
    '\x1b[32;1mJob succeeded\x1b[0;m',
    '',
  ].join('\n');

/**
 * An app pipeline waiting at its manual production deploy (next to the optional manual rollback, which must not
 * be chosen). The production job is optional (allow_failure: true) as deploy.yml makes it, so the app pipeline
 * ends `success`; `blocking` makes it a blocking manual job, as a consumer's own template might.
 */
function appWaitingForProduction(
  app: string,
  digestSource: DigestSource = 'build log',
  { blocking = false }: { blocking?: boolean } = {},
): FakeJob {
  const child = fake.addPipeline({ status: 'manual', sha: SHA, source: 'parent_pipeline' });
  fake.addBridge(planned.id, { name: `${app}-pipeline`, stage: 'apps', downstreamPipelineId: child.id });
  fake.addJob(child.id, {
    name: `${app}-build`,
    stage: 'build',
    status: 'success',
    // build.yml writes the digest to a dotenv report, which the artifacts API never serves.
    dotenvReport: `IMAGE_DIGEST=registry.example.com/${app}@${DIGEST}\n`,
    ...(digestSource === 'dotenv artifact' && {
      artifacts: { 'slipway-build.env': `IMAGE_DIGEST=registry.example.com/${app}@${DIGEST}\n` },
    }),
    log: digestSource === 'none' ? 'pushing\n' : buildLog(app),
  });
  fake.addJob(child.id, {
    name: `${app}-deploy-staging`,
    stage: 'deploy',
    status: 'success',
    environment: `staging/${app}`,
  });
  fake.addJob(child.id, {
    name: `${app}-rollback-production`,
    stage: 'deploy',
    status: 'manual',
    allow_failure: true,
    environment: `production/${app}`,
  });
  return fake.addJob(child.id, {
    name: `${app}-deploy-production`,
    stage: 'deploy',
    status: 'manual',
    allow_failure: !blocking,
    environment: `production/${app}`,
  });
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
        `image digest: registry.example.com/weather-app@${DIGEST} \\(from the log of weather-app-build`,
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

  it('reads the digest from the dotenv file when a consumer also lists it under artifacts:paths', async () => {
    appWaitingForProduction('weather-app', 'dotenv artifact');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.stdout).toMatch(
      new RegExp(
        `image digest: registry.example.com/weather-app@${DIGEST} \\(from weather-app-build \\(#\\d+\\) slipway-build.env\\)`,
      ),
    );
    expect(result.exitCode).toBe(0);
  });

  it('reads the digest from the timestamped build log of a GitLab.com runner (the dotenv report is never served)', async () => {
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

  it('promotes a blocking manual gate too, where the trigger jobs stay running (strategy: depend)', async () => {
    const production = appWaitingForProduction('weather-app', 'build log', { blocking: true });
    // GitLab's own statuses: the app pipeline is `manual`, the trigger jobs and the parents `running`.
    expect(fake.pipelineStatus(root)).toBe('running');
    runJobsToCompletion('success');
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`job weather-app-deploy-production (#${production.id}): success`);
  });

  it('says the latest commit has no pipeline when /pipelines/latest answers 403, not that the token lacks scope', async () => {
    appWaitingForProduction('weather-app');
    fake.refHeads.main = 'f'.repeat(40); // a new commit on main, no pipeline yet
    const result = await runSlipwayGitlab(fake, promoteArgs('--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'the latest commit on main has no pipeline (GitLab answered HTTP 403 for the latest pipeline): start one with: slipway gitlab run --ref main, or pass --pipeline ID',
    );
    expect(result.stderr).not.toContain('scope');
  });

  it('explains a 403 on play as the protected environment, not the token scope', async () => {
    appWaitingForProduction('weather-app');
    fake.protectedEnvironments.push({
      name: 'production/weather-app',
      deploy_access_levels: [
        { id: 1, access_level: 40, access_level_description: 'Maintainers', user_id: null, group_id: null },
      ],
      required_approval_count: 0,
    });
    fake.userAccessLevel = 30;
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /GitLab refused to play weather-app-deploy-production \(#\d+\) \(HTTP 403\): production\/weather-app is a protected environment/,
    );
    expect(result.stderr).not.toContain('`api` scope');
  });

  it('shows why an outdated deployment failed (failure_reason)', async () => {
    appWaitingForProduction('weather-app');
    // A newer pipeline already deployed production: "Prevent outdated deployment jobs" fails the old job.
    const newer = fake.addPipeline({ sha: SHA, source: 'parent_pipeline' });
    fake.addJob(newer.id, {
      name: 'weather-app-deploy-production',
      stage: 'deploy',
      status: 'success',
      environment: 'production/weather-app',
    });
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'production deploy of weather-app did not succeed: failed (failure_reason forward_deployment_failure: an outdated deployment',
    );
  });

  it('says staging has not finished while the pipeline runs, and --wait waits for the gate', async () => {
    const production = appWaitingForProduction('weather-app');
    const staging = fake.jobs.find((j) => j.name === 'weather-app-deploy-staging')!;
    staging.status = 'running';
    production.status = 'created';
    const early = await runSlipwayGitlab(fake, promoteArgs('--pipeline', String(root.id), '--yes'));
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain(
      `staging has not finished: pipeline #${root.id} is still running (weather-app-deploy-staging running`,
    );
    expect(early.stderr).toContain('pass --wait to wait for the gate');
    expect(early.stderr).not.toContain('no manual jobs waiting');

    let polls = 0;
    fake.onPipelinePoll = (pipeline) => {
      if (pipeline.id !== root.id || (polls += 1) < 2) return;
      staging.status = 'success';
      if (production.status === 'created') production.status = 'manual';
    };
    runJobsToCompletion('success');
    const waited = await runSlipwayGitlab(
      fake,
      promoteArgs('--pipeline', String(root.id), '--yes', '--wait'),
    );
    expect(waited.stderr).toBe('');
    expect(waited.exitCode).toBe(0);
    expect(waited.stdout).toContain(
      `staging has not finished: following pipeline #${root.id} until the gate waits`,
    );
    expect(waited.stdout).toContain('deployed weather-app to production');
  });

  it('names a missing pipeline through the 404 message', async () => {
    const result = await runSlipwayGitlab(fake, promoteArgs('--pipeline', '999999', '--yes'));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /GET \/api\/v4\/projects\/demo-group%2Fslipway\/pipelines\/999999 failed: HTTP 404/,
    );
  });
});

describe('imageDigestFromLog', () => {
  const reference = `registry.example.com/app@${DIGEST}`;
  it('reads plain and runner-timestamped lines, skips the echoed command, and takes the last digest', () => {
    expect(imageDigestFromLog(`IMAGE_DIGEST=${reference}\n`)).toBe(reference);
    const timestamped = [
      '2024-01-01T00:00:00.000000Z 00O \x1b[32;1m$ echo "IMAGE_DIGEST=$SLIPWAY_IMAGE@$(cat d)"\x1b[0;m',
      `2024-01-01T00:00:01.000000Z 00O IMAGE_DIGEST=registry.example.com/app@sha256:${'a'.repeat(64)}\r`,
      `2024-01-01T00:00:02.123456Z 01O+IMAGE_DIGEST=${reference}`,
      '2024-01-01T00:00:03.000000Z 00E IMAGE_DIGEST=not-a-digest',
    ].join('\n');
    expect(imageDigestFromLog(timestamped)).toBe(reference);
    expect(imageDigestFromLog('$ echo "IMAGE_DIGEST=$SLIPWAY_IMAGE@$(cat d)"\n')).toBeUndefined();
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
