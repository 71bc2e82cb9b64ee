import { renderPipelineTree } from '../src/gitlab/progress-display';
import type { PipelineTree } from '../src/gitlab/pipeline-tree';
import { startFakeGitlab, type FakeGitlab, type FakePipeline } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

let fake: FakeGitlab;
beforeEach(async () => {
  fake = await startFakeGitlab();
});
afterEach(() => fake.stop());

/**
 * A parent pipeline (plan + one trigger) whose weather-app child runs lint, test, build, staging and stops at the
 * manual production job; `childTestStatus` decides whether the child's tests pass.
 */
function scriptParentAndChildPipelines(childTestStatus: 'success' | 'failed') {
  let rootPolls = 0;
  let root: FakePipeline | undefined;
  fake.onPipelinePoll = (pipeline) => {
    root ??= pipeline;
    if (pipeline !== root) return;
    rootPolls += 1;
    if (rootPolls === 1) {
      pipeline.status = 'running';
      fake.addJob(pipeline.id, { name: 'plan', stage: 'plan', status: 'running' });
      fake.addBridge(pipeline.id, { name: 'weather-app', stage: 'trigger', status: 'created' });
    } else if (rootPolls === 2) {
      fake.jobs.find((j) => j.name === 'plan')!.status = 'success';
      const child = fake.addPipeline({ status: 'running', source: 'parent_pipeline', ref: pipeline.ref });
      Object.assign(fake.bridges[0]!, { status: 'running', downstreamPipelineId: child.id });
      fake.addJob(child.id, { name: 'lint', stage: 'lint', status: 'success' });
      fake.addJob(child.id, { name: 'unit-test', stage: 'test', status: 'running' });
    } else if (rootPolls === 3) {
      const child = fake.pipelines.find((p) => p.id === fake.bridges[0]!.downstreamPipelineId)!;
      fake.jobs.find((j) => j.name === 'unit-test')!.status = childTestStatus;
      if (childTestStatus === 'failed') {
        child.status = 'failed';
        fake.bridges[0]!.status = 'failed';
        pipeline.status = 'failed';
        return;
      }
      fake.addJob(child.id, { name: 'build', stage: 'build', status: 'success' });
      fake.addJob(child.id, { name: 'deploy-staging', stage: 'staging', status: 'success' });
      fake.addJob(child.id, { name: 'deploy-production', stage: 'production', status: 'manual' });
      child.status = 'manual';
      fake.bridges[0]!.status = 'success';
      pipeline.status = 'success';
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
    expect(result.stdout).toContain(
      `pipeline #${child.id} weather-app waits for a manual job; promote it with: slipway gitlab promote --pipeline ${root.id}`,
    );
  });

  it('exits 1 and names the failed job when a child pipeline fails', async () => {
    scriptParentAndChildPipelines('failed');
    const result = await runSlipwayGitlab(fake, runArgs);
    expect(result.exitCode).toBe(1);
    const child = fake.pipelines[1]!;
    expect(result.stderr).toContain(
      `pipeline #${child.id} weather-app failed: test/unit-test — ${child.web_url}`,
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
