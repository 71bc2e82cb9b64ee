// The one slow test: the parent pipeline of this repository's HEAD, run by gitlab-ci-local with the shell executor
// exactly as `npm run pipeline` runs it, through validate, plan and the weather-app child pipeline's lint and test
// jobs (each installs the workspace with npm ci, as on a runner). Only this file runs it.
import { Writable } from 'node:stream';
import {
  type LocalPipelineResult,
  parseJobFinishedLine,
  parseJobReportLine,
  parseJobStartingLine,
  removeLocalPipelineWorkDir,
  runParentPipelineLocally,
} from '../src/local-pipeline/run-parent-pipeline-locally';
import { REPOSITORY_ROOT } from './support/fixture-repository';

const FOUR_NPM_INSTALLS_ON_TWO_BUSY_CORES = 30 * 60_000;

let result: LocalPipelineResult | undefined;
let output = '';

afterAll(() => {
  if (result) removeLocalPipelineWorkDir(result.workDir);
});

function lastLines(text: string, count: number): string {
  return text.split('\n').slice(-count).join('\n');
}

// gitlab-ci-local reports a trigger job with `strategy: depend` as passed even when its child pipeline failed, so
// the runner reads every job's outcome from the reports gitlab-ci-local prints per pipeline.
it.each([
  [' PASS  plan           ', { name: 'plan', outcome: 'passed' }],
  [
    ' PASS  [apps -> weather-app-pipeline] -> weather-app-test   90.15% coverage',
    { name: 'weather-app-test', outcome: 'passed' },
  ],
  [' WARN  weather-app-trivy  pre_script', { name: 'weather-app-trivy', outcome: 'allowed to fail' }],
  [' FAIL  weather-app-test               ', { name: 'weather-app-test', outcome: 'failed' }],
  [' WARN  downstream pipeline is experimental in gitlab-ci-local', undefined],
  [' WARN  weather-app-lint  after_script', undefined],
  ['weather-app-test > PASS test/app.test.ts', undefined],
])('reads the job report line %j', (line, expected) => {
  expect(parseJobReportLine(line)).toEqual(expected);
});

// The durations in npm run e2e's summary come from the line gitlab-ci-local prints when a job ends.
it.each([
  ['plan            finished in 24 s', { name: 'plan', seconds: 24 }],
  [
    '\t\t[apps -> weather-app-pipeline] -> weather-app-build      finished in 2.5 min',
    { name: 'weather-app-build', seconds: 150 },
  ],
  ['weather-app-lint finished in 850 ms', { name: 'weather-app-lint', seconds: 0.85 }],
  ['parsing and downloads finished in 104 ms.', undefined],
  ['weather-app-test > build finished in 3 s', undefined],
])('reads the job duration line %j', (line, expected) => {
  expect(parseJobFinishedLine(line)).toEqual(expected);
});

// The image column of npm run e2e's job table comes from the line gitlab-ci-local prints when a job starts.
it.each([
  ['plan           starting node:24.11.1-bookworm (plan)', { name: 'plan', image: 'node:24.11.1-bookworm' }],
  [
    '\t[apps -> weather-app-pipeline] -> weather-app-release  starting quay.io/skopeo/stable:v1.20.0 (build)',
    { name: 'weather-app-release', image: 'quay.io/skopeo/stable:v1.20.0' },
  ],
  ['weather-app-lint starting shell (lint)', { name: 'weather-app-lint', image: 'shell' }],
  ['weather-app-lint > starting the server (demo)', undefined],
])('reads the job starting line %j', (line, expected) => {
  expect(parseJobStartingLine(line)).toEqual(expected);
});

it(
  'runs validate, plan and the weather-app lint and test jobs, and they pass',
  async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });

    // The shell executor starts no services: containers, and no registry here serves postgres.
    result = await runParentPipelineLocally({
      repositoryRoot: REPOSITORY_ROOT,
      output: sink,
      variables: { SLIPWAY_INTEGRATION_DISABLED: 'true' },
    });

    if (!result.passed) throw new Error(`the local pipeline failed:\n${lastLines(output, 150)}`);
    const outcomes = Object.fromEntries(result.jobs.map((job) => [job.name, job.outcome]));
    // Every app the plan ran (each reference app, when the change touches what they share) passed its lint and
    // test jobs.
    const planned = [...output.matchAll(/plan +> +run +([a-z0-9-]+): /g)].map((match) => match[1]!);
    expect(planned).toContain('weather-app');
    const expected: Record<string, string> = { 'templates-check': 'passed', plan: 'passed', apps: 'passed' };
    // On a branch the run is a merge request pipeline, whose validate stage also checks the commit messages.
    if (result.pipelineKind === 'merge-request') expected.commitlint = 'passed';
    for (const app of planned) {
      for (const job of ['pipeline', 'lint', 'test']) expected[`${app}-${job}`] = 'passed';
    }
    expect(outcomes).toEqual(expected);
    // The plan job's log names the app and why; the child pipeline ran that app's own jobs.
    expect(output).toMatch(/plan +> +run +weather-app: /);
    expect(output).toMatch(/\[apps -> weather-app-pipeline\] -> weather-app-test +\$ npx turbo run test/);
    // Lint and test each installed the workspace themselves, as a runner's fresh checkout must.
    expect(output).toMatch(/weather-app-lint +> added \d+ packages/);
    expect(output).toMatch(/weather-app-test +> added \d+ packages/);
  },
  FOUR_NPM_INSTALLS_ON_TWO_BUSY_CORES,
);
