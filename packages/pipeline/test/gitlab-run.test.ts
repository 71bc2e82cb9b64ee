import { renderPipelineTree } from '../src/gitlab/progress-display';
import type { PipelineTree } from '../src/gitlab/pipeline-tree';
import { startFakeGitlab, type FakeBridge, type FakeGitlab, type FakePipeline } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

let fake: FakeGitlab;
beforeEach(async () => {
  fake = await startFakeGitlab();
});
afterEach(() => fake.stop());

/**
 * A parent pipeline (plan + one trigger job) whose weather-app child runs lint, test, build, staging and reaches
 * the manual production job. Only job statuses are scripted: the pipelines' and trigger jobs' statuses are GitLab's
 * own, computed by the fake (composite status, trigger:strategy). `childTestStatus` decides whether the tests pass;
 * `gate` whether the production job is optional (deploy.yml: allow_failure: true) or blocking.
 */
function scriptParentAndChildPipelines(
  childTestStatus: 'success' | 'failed',
  {
    gate = 'optional',
    strategy = 'depend',
  }: { gate?: 'optional' | 'blocking'; strategy?: FakeBridge['strategy'] } = {},
) {
  let rootPolls = 0;
  let root: FakePipeline | undefined;
  fake.onPipelinePoll = (pipeline) => {
    root ??= pipeline;
    if (pipeline !== root) return;
    rootPolls += 1;
    if (rootPolls === 1) {
      fake.addJob(pipeline.id, { name: 'plan', stage: 'plan', status: 'running' });
      fake.addBridge(pipeline.id, { name: 'weather-app', stage: 'trigger', status: 'created', strategy });
    } else if (rootPolls === 2) {
      fake.jobs.find((j) => j.name === 'plan')!.status = 'success';
      const child = fake.addPipeline({ status: 'created', source: 'parent_pipeline', ref: pipeline.ref });
      fake.bridges[0]!.downstreamPipelineId = child.id;
      fake.addJob(child.id, { name: 'lint', stage: 'lint', status: 'success' });
      fake.addJob(child.id, { name: 'unit-test', stage: 'test', status: 'running' });
    } else if (rootPolls === 3) {
      const child = fake.pipelines.find((p) => p.id === fake.bridges[0]!.downstreamPipelineId)!;
      fake.jobs.find((j) => j.name === 'unit-test')!.status = childTestStatus;
      if (childTestStatus === 'failed') return;
      fake.addJob(child.id, { name: 'build', stage: 'build', status: 'success' });
      fake.addJob(child.id, { name: 'deploy-staging', stage: 'staging', status: 'success' });
      fake.addJob(child.id, {
        name: 'rollback-production',
        stage: 'production',
        status: 'manual',
        allow_failure: true,
      });
      fake.addJob(child.id, {
        name: 'deploy-production',
        stage: 'production',
        status: 'manual',
        allow_failure: gate === 'optional',
      });
    }
  };
}

const runArgs = ['run', '--ref', 'main', '--interval', '0.01', '--timeout', '30'];

describe('slipway gitlab run', () => {
  it('creates a pipeline and follows it into its child pipeline, one line per change when not a TTY', async () => {
    scriptParentAndChildPipelines('success');
    const result = await runSlipwayGitlab(fake, runArgs);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(fake.requests.find((r) => r.method === 'POST')).toMatchObject({
      path: '/api/v4/projects/demo-group%2Fslipway/pipeline',
      body: { ref: 'main' },
    });
    const root = fake.pipelines[0]!;
    const child = fake.pipelines[1]!;
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`created pipeline #${root.id} for main: ${root.web_url}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`\\] pipeline #${root.id}: running$`)),
        expect.stringMatching(new RegExp(`\\] #${root.id} trigger/weather-app: running$`)),
        expect.stringMatching(new RegExp(`\\] #${child.id} weather-app test/unit-test: running$`)),
        expect.stringMatching(new RegExp(`\\] #${child.id} weather-app test/unit-test: success$`)),
        expect.stringMatching(
          new RegExp(`\\] #${child.id} weather-app production/deploy-production: manual$`),
        ),
      ]),
    );
    // A status is reported once, not on every poll.
    expect(lines.filter((l) => l.endsWith('test/unit-test: running'))).toHaveLength(1);
    // deploy.yml's optional production job lets the child, the trigger job and the parent end `success`.
    expect([
      fake.pipelineStatus(child),
      fake.bridgeStatus(fake.bridges[0]!),
      fake.pipelineStatus(root),
    ]).toEqual(['success', 'success', 'success']);
    expect(result.stdout).toContain(
      `production deploy of weather-app is waiting at its manual gate (deploy-production in pipeline #${child.id} weather-app); ` +
        `promote it with: slipway gitlab promote --pipeline ${root.id} --app weather-app`,
    );
    expect(result.stdout).not.toContain('rollback-production in');
    expect(lines.filter(Boolean).at(-1)).toBe(`pipeline #${root.id} success`);
  });

  it('recognises a blocking gate from the child pipeline while the depend trigger job keeps the parent running', async () => {
    scriptParentAndChildPipelines('success', { gate: 'blocking' });
    // A long --timeout: the old CLI polled until it ran out, because GitLab keeps the parent `running`.
    const result = await runSlipwayGitlab(fake, [
      'run',
      '--ref',
      'main',
      '--interval',
      '0.01',
      '--timeout',
      '3600',
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const [root, child] = fake.pipelines;
    expect([
      fake.pipelineStatus(child!),
      fake.bridgeStatus(fake.bridges[0]!),
      fake.pipelineStatus(root!),
    ]).toEqual(['manual', 'running', 'running']);
    expect(result.stdout).toContain(
      `production deploy of weather-app is waiting at its manual gate (deploy-production in pipeline #${child!.id} weather-app); ` +
        `promote it with: slipway gitlab promote --pipeline ${root!.id} --app weather-app`,
    );
    expect(result.stdout).toContain(
      `pipeline #${root!.id} is running in GitLab until the manual gate is played or canceled`,
    );
  });

  it('recognises a blocking gate under strategy: mirror, where the trigger job shows the child status', async () => {
    scriptParentAndChildPipelines('success', { gate: 'blocking', strategy: 'mirror' });
    const result = await runSlipwayGitlab(fake, [
      'run',
      '--ref',
      'main',
      '--interval',
      '0.01',
      '--timeout',
      '3600',
    ]);
    expect(result.exitCode).toBe(0);
    expect(fake.bridgeStatus(fake.bridges[0]!)).toBe('manual');
    expect(result.stdout).toContain('production deploy of weather-app is waiting at its manual gate');
  });

  it('does not hang on a manual trigger job that has no child pipeline yet', async () => {
    fake.onPipelinePoll = (pipeline) => {
      if (fake.jobs.length > 0) return;
      fake.addJob(pipeline.id, { name: 'plan', stage: 'plan', status: 'success' });
      fake.addBridge(pipeline.id, { name: 'weather-app', stage: 'trigger', status: 'manual' });
    };
    const result = await runSlipwayGitlab(fake, [
      'run',
      '--ref',
      'main',
      '--interval',
      '0.01',
      '--timeout',
      '3600',
    ]);
    expect(result.exitCode).toBe(0);
    const root = fake.pipelines[0]!;
    expect(fake.pipelineStatus(root)).toBe('manual');
    expect(result.stdout).toContain(
      `trigger job weather-app in pipeline #${root.id} is manual: its child pipeline starts when someone plays it in GitLab`,
    );
  });

  it('says when workflow:rules create no pipeline for the ref (HTTP 400)', async () => {
    fake.refHeads['docs-only'] = 'd'.repeat(40);
    fake.workflowRejects = (ref) => ref === 'docs-only';
    const rejected = await runSlipwayGitlab(fake, ['run', '--ref', 'docs-only']);
    expect(rejected.exitCode).toBe(1);
    expect(rejected.stderr).toContain(
      "GitLab created no pipeline for docs-only: the project's workflow:rules filter it out",
    );
    const missing = await runSlipwayGitlab(fake, ['run', '--ref', 'no-such-branch']);
    expect(missing.stderr).toContain('GitLab has no branch or tag named no-such-branch; push it first');
  });

  it('exits 1 and names the failed job when a child pipeline fails', async () => {
    scriptParentAndChildPipelines('failed');
    const result = await runSlipwayGitlab(fake, runArgs);
    expect(result.exitCode).toBe(1);
    const child = fake.pipelines[1]!;
    expect(result.stderr).toContain(
      `pipeline #${child.id} weather-app failed: test/unit-test (script_failure) — ${child.web_url}`,
    );
  });

  it('gives up after --timeout while the pipeline is still running', async () => {
    fake.onPipelinePoll = (pipeline) => void (pipeline.status = 'running');
    const result = await runSlipwayGitlab(fake, [
      'run',
      '--ref',
      'main',
      '--interval',
      '0.05',
      '--timeout',
      '0.2',
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/gave up after 0.2s: pipeline .* is still running/);
  });

  it('redraws one block in place on a terminal', async () => {
    scriptParentAndChildPipelines('success');
    const result = await runSlipwayGitlab(fake, runArgs, { stdoutIsTTY: true });
    expect(result.exitCode).toBe(0);
    // Cursor up over the previous block, then clear to the end of the screen.
    expect(result.stdout).toMatch(new RegExp(String.raw`\u001b\[\d+A\u001b\[0J`));
  });

  it('requires --ref and checks numbers', async () => {
    expect(await runSlipwayGitlab(fake, ['run'])).toMatchObject({
      exitCode: 2,
      stderr: expect.stringContaining('--ref is required'),
    });
    const bad = await runSlipwayGitlab(fake, ['run', '--ref', 'main', '--interval', 'often']);
    expect(bad).toMatchObject({
      exitCode: 2,
      stderr: expect.stringContaining('--interval must be a positive number of seconds, got "often"'),
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('renderPipelineTree', () => {
  it('groups jobs by stage under each pipeline, children indented', () => {
    const tree: PipelineTree = {
      id: 1,
      ref: 'main',
      sha: 'a',
      status: 'running',
      webUrl: 'https://gitlab.example.com/p/-/pipelines/1',
      jobs: [{ id: 2, name: 'plan', stage: 'plan', status: 'success' }],
      bridges: [
        {
          job: { id: 3, name: 'weather-app', stage: 'trigger', status: 'running' },
          downstream: {
            id: 4,
            ref: 'main',
            sha: 'a',
            status: 'running',
            webUrl: 'https://gitlab.example.com/p/-/pipelines/4',
            triggeredBy: 'weather-app',
            jobs: [
              { id: 5, name: 'lint', stage: 'lint', status: 'success' },
              { id: 6, name: 'unit-test', stage: 'test', status: 'running' },
            ],
            bridges: [
              {
                job: { id: 7, name: 'nested', stage: 'deploy', status: 'running' },
                downstream: {
                  id: 8,
                  ref: 'main',
                  sha: 'a',
                  status: 'manual',
                  webUrl: 'https://gitlab.example.com/p/-/pipelines/8',
                  triggeredBy: 'nested',
                  jobs: [{ id: 9, name: 'deploy-production', stage: 'deploy', status: 'manual' }],
                  bridges: [],
                },
              },
            ],
          },
        },
      ],
    };
    expect(renderPipelineTree(tree)).toEqual([
      'pipeline #1 (main): running  https://gitlab.example.com/p/-/pipelines/1',
      '  plan: ✔ plan success',
      '  trigger: ▶ weather-app running',
      '  pipeline #4 weather-app (main): running  https://gitlab.example.com/p/-/pipelines/4',
      '    lint: ✔ lint success',
      '    test: ▶ unit-test running',
      '    deploy: ▶ nested running',
      '    pipeline #8 nested (main): manual  https://gitlab.example.com/p/-/pipelines/8',
      '      deploy: ⏸ deploy-production manual',
    ]);
  });
});
