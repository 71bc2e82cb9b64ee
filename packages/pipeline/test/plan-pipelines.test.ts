// The root pipeline, the weather-app pipeline and the child pipelines `slipway plan` generates pass gitlab-ci-local's
// include/extends/inputs resolution and GitLab's CI JSON schema (--list-json and --preview, --json-schema-validation).
import { parse } from 'yaml';
import { planChildPipelines } from '../src/plan/plan-child-pipelines';
import { renderChildPipeline } from '../src/plan/render-child-pipeline';
import {
  appendToFile,
  commitAll,
  createRepositoryFromCheckout,
  git,
  makeTempDir,
  removeDir,
  writeFile,
} from './support/fixture-repository';
import { parseListJson, runGitlabCiLocal, type GitlabCiLocalResult } from './support/gitlab-ci-local';

let repo: string;
let baseCommit: string;

beforeAll(() => {
  repo = makeTempDir('plan-pipelines');
  baseCommit = createRepositoryFromCheckout(repo);
  writeFile(repo, '.git/info/exclude', '.gitlab-ci-local/\n.gitlab-ci-local-home/\nchild-pipeline.yml\n');
  git(repo, ['update-ref', 'refs/remotes/origin/main', 'HEAD']);
  git(repo, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
});

afterAll(() => removeDir(repo));

function expectValid(result: GitlabCiLocalResult): void {
  if (result.code !== 0)
    throw new Error(`gitlab-ci-local failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  expect(`${result.stdout}${result.stderr}`).toMatch(/json schema validated/);
}

/** The jobs that would run (gitlab-ci-local's --list-json also lists when:never jobs). */
async function jobsThatRun(file: string, variables: Record<string, string> = {}) {
  const result = await runGitlabCiLocal({
    cwd: repo,
    file,
    args: ['--list-json'],
    variables,
    env: { GCL_IGNORE_PREDEFINED_VARS: 'CI_PIPELINE_SOURCE' },
  });
  expectValid(result);
  return parseListJson(result).filter((job) => job.when !== 'never');
}

async function preview(file: string): Promise<Record<string, unknown>> {
  const result = await runGitlabCiLocal({ cwd: repo, file, args: ['--preview'] });
  expectValid(result);
  // --preview prints the expanded configuration as YAML documents after its progress lines.
  return parse(result.stdout.slice(result.stdout.indexOf('---'))) as Record<string, unknown>;
}

describe('the root pipeline (.gitlab-ci.yml)', () => {
  it('validates, plans, then triggers the generated child pipeline on the default branch', async () => {
    const jobs = await jobsThatRun('.gitlab-ci.yml');
    expect(jobs.map((job) => [job.name, job.stage])).toEqual([
      ['templates-check', 'validate'],
      ['plan', 'plan'],
      ['apps', 'trigger'],
    ]);
  });

  it('lints the commit messages in merge request pipelines only', async () => {
    const jobs = await jobsThatRun('.gitlab-ci.yml', { CI_PIPELINE_SOURCE: 'merge_request_event' });
    expect(jobs.map((job) => job.name)).toEqual(['templates-check', 'commitlint', 'plan', 'apps']);
  });

  it('includes the plan job artifact as the child pipeline and mirrors its status', async () => {
    const config = await preview('.gitlab-ci.yml');
    expect(config.stages).toEqual(['.pre', 'validate', 'plan', 'trigger', '.post']);
    expect(config.plan).toMatchObject({
      script: ['npx slipway plan --out child-pipeline.yml'],
      artifacts: { paths: ['child-pipeline.yml'] },
    });
    expect(config.apps).toMatchObject({
      stage: 'trigger',
      trigger: { include: [{ artifact: 'child-pipeline.yml', job: 'plan' }], strategy: 'depend' },
    });
    expect(config.workflow).toMatchObject({ auto_cancel: { on_new_commit: 'interruptible' } });
  });
});

describe('the weather-app pipeline (apps/weather-app/.gitlab-ci.yml)', () => {
  it('composes every template with the app prefix', async () => {
    const names = (await jobsThatRun('apps/weather-app/.gitlab-ci.yml')).map((job) => job.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'weather-app-lint',
        'weather-app-test',
        'weather-app-build',
        'weather-app-trivy',
        'weather-app-deploy-staging',
        'weather-app-deploy-production',
      ]),
    );
    expect(names.every((name) => name.startsWith('weather-app-'))).toBe(true);
  });

  it('passes the schema after includes, inputs and extends are resolved', async () => {
    const config = await preview('apps/weather-app/.gitlab-ci.yml');
    expect(config['weather-app-deploy-production']).toMatchObject({
      stage: 'production',
      environment: { name: 'production/weather-app' },
    });
  });
});

describe('a generated child pipeline', () => {
  afterEach(() => {
    git(repo, ['checkout', '--quiet', '--detach', baseCommit]);
  });

  it('with an affected app: one trigger job running that app pipeline', async () => {
    git(repo, ['checkout', '--quiet', '-B', 'feature', baseCommit]);
    appendToFile(repo, 'apps/weather-app/src/app.ts', '\n// a change\n');
    const head = commitAll(repo, 'feat: a change');
    const plan = await planChildPipelines({
      cwd: repo,
      env: { CI_COMMIT_BEFORE_SHA: baseCommit, CI_COMMIT_SHA: head },
    });
    writeFile(repo, 'child-pipeline.yml', renderChildPipeline(plan));

    const jobs = await jobsThatRun('child-pipeline.yml');
    const config = await preview('child-pipeline.yml');

    expect(jobs.map((job) => job.name)).toEqual(['weather-app-pipeline']);
    expect(config['weather-app-pipeline']).toEqual({
      stage: 'apps',
      variables: { SLIPWAY_CONTENT_KEY: plan.apps[0]?.contentKey },
      trigger: {
        include: [{ local: 'apps/weather-app/.gitlab-ci.yml' }],
        strategy: 'depend',
        forward: { yaml_variables: true, pipeline_variables: true },
      },
    });
    expect(plan.apps[0]?.contentKey).toMatch(/^[0-9a-f]{16}$/);
  });

  it('with no affected app: the no-op job', async () => {
    git(repo, ['checkout', '--quiet', '-B', 'docs', baseCommit]);
    appendToFile(repo, 'README.md', '\nDocs.\n');
    const head = commitAll(repo, 'docs: a change');
    const plan = await planChildPipelines({
      cwd: repo,
      env: { CI_COMMIT_BEFORE_SHA: baseCommit, CI_COMMIT_SHA: head },
    });
    writeFile(repo, 'child-pipeline.yml', renderChildPipeline(plan));

    const jobs = await jobsThatRun('child-pipeline.yml');

    expect(plan.apps).toEqual([]);
    expect(jobs.map((job) => [job.name, job.stage])).toEqual([['no-app-affected', 'apps']]);
  });
});
