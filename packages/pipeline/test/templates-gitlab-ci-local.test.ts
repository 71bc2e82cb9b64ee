// Every template, included on its own by a consumer pipeline, passes gitlab-ci-local's include/extends/inputs
// resolution and GitLab's CI JSON schema (--list and --preview with --json-schema-validation). Bad inputs are
// rejected: missing required and outside-options by gitlab-ci-local, regex by `slipway templates check`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { checkPipelineIncludes } from '../src/templates/check-pipeline';
import { readTemplate, type CiTemplate } from '../src/templates/template-file';
import { removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, runGitlabCiLocal } from './support/gitlab-ci-local';

const TEMPLATES_DIR = path.join(REPOSITORY_ROOT, 'ci-templates');
const STAGES = ['lint', 'test', 'build', 'scan', 'deploy'];

function templateFiles(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(TEMPLATES_DIR)
      .filter((file) => file.endsWith('.yml'))
      .map((file) => [`ci-templates/${file}`, readFileSync(path.join(TEMPLATES_DIR, file), 'utf8')]),
  );
}

/** A pipeline that includes one template locally with `inputs`. */
function consumerPipeline(template: string, inputs: Record<string, unknown>): string {
  return JSON.stringify(
    { stages: STAGES, include: [{ local: `ci-templates/${template}`, inputs }] },
    null,
    2,
  );
}

const APP = { 'job-prefix': 'api', 'app-name': 'api', 'app-path': 'services/api' };
const DEPLOY = {
  'job-prefix': 'api',
  'app-name': 'api',
  environment: 'staging',
  'deployment-tier': 'staging',
  url: 'https://api-staging.example.com',
};

// The minimal inputs of each template, and the jobs it then adds.
const TEMPLATES: Array<[string, Record<string, unknown>, string[]]> = [
  ['lint.yml', APP, ['api-lint']],
  ['test.yml', APP, ['api-test', 'api-integration-test']],
  ['build.yml', APP, ['api-build']],
  ['trivy.yml', { 'job-prefix': 'api' }, ['api-trivy']],
  ['deploy.yml', DEPLOY, ['api-deploy-staging', 'api-rollback-staging']],
  ['release.yml', { 'job-prefix': 'api', 'app-name': 'api' }, ['api-release']],
];

describe('each template on its own', () => {
  let repo: string | undefined;
  afterEach(() => removeDir(repo));

  it('covers every template in ci-templates/', () => {
    expect(TEMPLATES.map(([file]) => file).sort()).toEqual(
      readdirSync(TEMPLATES_DIR)
        .filter((file) => file.endsWith('.yml'))
        .sort(),
    );
  });

  it.each(TEMPLATES)(
    '%s passes --list and --preview with schema validation',
    async (template, inputs, jobs) => {
      repo = createGitRepo({ ...templateFiles(), '.gitlab-ci.yml': consumerPipeline(template, inputs) });

      const list = await runGitlabCiLocal({ cwd: repo, args: ['--list-all'] });
      expect(list.stderr).not.toMatch(/error|invalid/i);
      expect(list.code).toBe(0);
      expect(list.stderr).toContain('json schema validated');
      for (const job of jobs) expect(list.stdout).toMatch(new RegExp(`^${job}\\s`, 'm'));

      const preview = await runGitlabCiLocal({ cwd: repo, args: ['--preview'], stdoutThroughFile: true });
      expect(preview.code).toBe(0);
      const expanded = parse(preview.stdout) as Record<string, Record<string, unknown>>;
      const visibleJobs = Object.keys(expanded).filter((key) => !key.startsWith('.') && key !== 'stages');
      expect(visibleJobs.sort()).toEqual([...jobs].sort());
      const defaultStage = readTemplate(path.join(TEMPLATES_DIR, template)).inputs.stage?.default;
      for (const job of jobs) expect(expanded[job]?.stage).toBe(defaultStage);
    },
    120_000,
  );
});

describe('the schema validation', () => {
  let repo: string | undefined;
  afterEach(() => removeDir(repo));

  it('rejects a template with a key GitLab does not know', async () => {
    const files = templateFiles();
    files['ci-templates/lint.yml'] = files['ci-templates/lint.yml']!.replace(
      '  extends: .$[[ inputs.job-prefix ]]-lint-base\n',
      '  extends: .$[[ inputs.job-prefix ]]-lint-base\n  interruptable: true\n',
    );
    repo = createGitRepo({ ...files, '.gitlab-ci.yml': consumerPipeline('lint.yml', APP) });
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--list'] });
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/api-lint.*interruptable|interruptable.*api-lint/s);
  }, 60_000);
});

describe('bad inputs', () => {
  let repo: string | undefined;
  afterEach(() => removeDir(repo));

  async function expand(template: string, inputs: Record<string, unknown>) {
    repo = createGitRepo({ ...templateFiles(), '.gitlab-ci.yml': consumerPipeline(template, inputs) });
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--list'] });
    return { ...result, output: result.stdout + result.stderr };
  }

  it('a missing required input is rejected by gitlab-ci-local', async () => {
    const { 'job-prefix': _jobPrefix, ...withoutPrefix } = APP;
    const result = await expand('lint.yml', withoutPrefix);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('`job-prefix` input: required value has not been provided');
  }, 60_000);

  it('a value outside options is rejected by gitlab-ci-local', async () => {
    const result = await expand('build.yml', { ...APP, builder: 'kaniko' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      '`kaniko` cannot be used because it is not in the list of allowed options',
    );
  }, 60_000);

  it('a regex violation is rejected by slipway templates check', async () => {
    const inputs = { ...APP, 'job-prefix': 'Api_Lint' };
    repo = createGitRepo({ ...templateFiles(), '.gitlab-ci.yml': consumerPipeline('lint.yml', inputs) });
    const templates = new Map<string, CiTemplate>(
      ['lint.yml'].map((file) => [file, readTemplate(path.join(TEMPLATES_DIR, file))]),
    );
    expect(checkPipelineIncludes(path.join(repo, '.gitlab-ci.yml'), templates)).toEqual([
      'include[0] lint.yml: input "job-prefix": "Api_Lint" does not match the regex ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
    ]);
    // The pinned gitlab-ci-local (4.75.1) enforces regex as well; releases before 4.75 let this through.
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--list'] });
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('does not match required regex');
  }, 60_000);
});
