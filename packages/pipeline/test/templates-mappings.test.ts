// The documented ref -> environment mappings (ci-templates/README.md: trunk-based, GitFlow with develop and uat), each
// with this repository's own parent workflow applied. gitlab-ci-local ignores workflow:rules when it lists jobs, so
// it only expands the app pipeline (--preview: includes, inputs, extends); the parent's workflow:rules and every job's
// rules are then evaluated with GitLab's documented semantics (src/templates/rules-evaluator.ts) for each kind of
// pipeline: a push to the default branch, to develop, to a feature branch, a merge request, a release tag, another tag.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import {
  evaluateIf,
  jobsInPipeline,
  workflowCreatesPipeline,
  type Variables,
} from '../src/templates/rules-evaluator';
import { isRecord } from '../src/templates/template-file';
import { removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, runGitlabCiLocal } from './support/gitlab-ci-local';

const read = (file: string) => readFileSync(path.join(REPOSITORY_ROOT, file), 'utf8');
const PARENT = parse(read('.gitlab-ci.yml')) as Record<string, unknown>;
const APP_PIPELINE = parse(read('apps/weather-app/.gitlab-ci.yml')) as {
  stages: string[];
  include: Array<{ local: string; inputs: Record<string, unknown> }>;
};
const TEMPLATE_FILES = Object.fromEntries(
  ['lint', 'test', 'build', 'release', 'trivy', 'deploy'].map((name) => [
    `ci-templates/${name}.yml`,
    read(`ci-templates/${name}.yml`),
  ]),
);

/** The first ```yaml block after a README heading: the documented configuration itself. */
function readmeYamlAfter(heading: string): {
  include: Array<{ local: string; inputs: Record<string, unknown> }>;
} {
  const readme = read('ci-templates/README.md');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`ci-templates/README.md has no "${heading}"`);
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`no yaml block after "${heading}"`);
  return parse(block[1]!) as never;
}

/** weather-app's pipeline with its deploy includes replaced by a documented mapping's. */
function appPipelineWith(mapping: ReturnType<typeof readmeYamlAfter>, stages: string[]): string {
  const others = APP_PIPELINE.include.filter((entry) => entry.local !== 'ci-templates/deploy.yml');
  return stringify({ stages, include: [...others, ...mapping.include] });
}

/** The app pipeline as gitlab-ci-local expands it (jobs with rules, needs, when). */
async function expand(pipeline: string): Promise<Record<string, unknown>> {
  const repo = createGitRepo({ ...TEMPLATE_FILES, '.gitlab-ci.yml': pipeline });
  try {
    const result = await runGitlabCiLocal({ cwd: repo, args: ['--preview'], stdoutThroughFile: true });
    if (result.code !== 0) throw new Error(`--preview failed:\n${result.stdout}\n${result.stderr}`);
    return parse(result.stdout) as Record<string, unknown>;
  } finally {
    removeDir(repo);
  }
}

// The predefined variables of each kind of pipeline (https://docs.gitlab.com/ci/variables/predefined_variables/).
const DEFAULT_BRANCH = 'main';
const push = (branch: string, extra: Variables = {}): Variables => ({
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: branch,
  CI_COMMIT_REF_NAME: branch,
  CI_DEFAULT_BRANCH: DEFAULT_BRANCH,
  ...extra,
});
const mergeRequest = (branch: string): Variables => ({
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_IID: '7',
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: branch,
  CI_COMMIT_REF_NAME: branch,
  CI_DEFAULT_BRANCH: DEFAULT_BRANCH,
});
const tag = (name: string): Variables => ({
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_TAG: name,
  CI_COMMIT_REF_NAME: name,
  CI_DEFAULT_BRANCH: DEFAULT_BRANCH,
});
const WITH_OPEN_MR = { CI_OPEN_MERGE_REQUESTS: 'shop/slipway!7' };
const GITFLOW_PROJECT_VARIABLES = { SLIPWAY_PIPELINE_BRANCHES: '/^(develop|uat)$/' };

/**
 * What a push (or MR, or tag) gets: no pipeline at all when the parent's workflow says so, else the app pipeline's
 * jobs (the child and grandchild pipelines run for the same ref; their source is parent_pipeline).
 */
function pipelineFor(app: Record<string, unknown>, variables: Variables) {
  if (!workflowCreatesPipeline(PARENT, variables)) return undefined;
  return jobsInPipeline(app, { ...variables, CI_PIPELINE_SOURCE: 'parent_pipeline' });
}

/** Summary `job: when` (with `(non-blocking)` for manual jobs that may fail), sorted. */
function summary(jobs: ReturnType<typeof jobsInPipeline> | undefined): string[] | undefined {
  if (!jobs) return undefined;
  return [...jobs.entries()]
    .map(
      ([name, job]) =>
        `${name}: ${job.when}${job.when === 'manual' && job.allowFailure ? ' (non-blocking)' : ''}`,
    )
    .sort();
}

/** GitLab refuses a pipeline whose job needs a job that is not in it, and starts at once a job whose optional needs are all absent. */
function needsProblems(jobs: ReturnType<typeof jobsInPipeline> | undefined): string[] {
  const problems: string[] = [];
  for (const [name, job] of jobs ?? []) {
    for (const need of job.needs) {
      if (!need.optional && !jobs!.has(need.job))
        problems.push(`${name} needs ${need.job}, which is not in the pipeline`);
    }
    if (
      job.needs.length > 0 &&
      job.needs.every((need) => need.optional) &&
      !job.needs.some((need) => jobs!.has(need.job))
    ) {
      problems.push(
        `${name}: all its needs are optional and none is in the pipeline, so it would start at once`,
      );
    }
  }
  return problems;
}

describe('the rules evaluator (GitLab CI/CD variable expressions)', () => {
  it.each([
    ['$A', { A: 'x' }, true],
    ['$A', { A: '' }, false],
    ['$A', {}, false],
    ['$A == null', {}, true],
    ['$A == ""', { A: '' }, true],
    ['$A == "x" || $B && $C', { A: 'y', B: 'b', C: '' }, false],
    ['($A == "x" || $B) && $C', { A: 'x', C: 'c' }, true],
    ['$A == $B', { A: 'main', B: 'main' }, true],
    ['$T =~ /^v[0-9]+$/', { T: 'v12' }, true],
    ['$T !~ /^v[0-9]+$/', { T: 'foo' }, true],
    ['$B =~ $RE', { B: 'develop', RE: '/^(develop|uat)$/' }, true],
    ['$B =~ $RE', { B: 'feature/x', RE: '/^(develop|uat)$/' }, false],
    ['"manual" == "manual" && ($A || $B)', { B: 'x' }, true],
  ])('%s with %j -> %s', (expression, variables, expected) => {
    expect(evaluateIf(expression, variables)).toBe(expected);
  });
});

describe('trunk-based (weather-app as it is, and the README example)', () => {
  let app: Record<string, unknown>;
  beforeAll(async () => {
    app = await expand(read('apps/weather-app/.gitlab-ci.yml'));
  }, 120_000);

  it('the default branch deploys staging, then offers production as a non-blocking gate', () => {
    const jobs = pipelineFor(app, push(DEFAULT_BRANCH));
    expect(summary(jobs)).toEqual([
      'weather-app-build: on_success',
      'weather-app-deploy-production: manual (non-blocking)',
      'weather-app-deploy-staging: on_success',
      'weather-app-lint: on_success',
      'weather-app-rollback-production: manual (non-blocking)',
      'weather-app-rollback-staging: manual (non-blocking)',
      'weather-app-test: on_success',
      'weather-app-trivy: on_success',
    ]);
    expect(needsProblems(jobs)).toEqual([]);
    // Also with an open merge request from the default branch (rare, but it must not lose its deploys).
    expect(summary(pipelineFor(app, push(DEFAULT_BRANCH, WITH_OPEN_MR)))).toEqual(summary(jobs));
  });

  it('a merge request builds and scans but deploys nothing; a feature branch push makes no duplicate pipeline', () => {
    const jobs = pipelineFor(app, mergeRequest('feature/x'));
    expect(summary(jobs)).toEqual([
      'weather-app-build: on_success',
      'weather-app-lint: on_success',
      'weather-app-test: on_success',
      'weather-app-trivy: on_success',
    ]);
    expect(needsProblems(jobs)).toEqual([]);
    expect(pipelineFor(app, push('feature/x', WITH_OPEN_MR))).toBeUndefined();
  });

  it('a release tag releases, scans and offers production; staging is not redeployed', () => {
    const jobs = pipelineFor(app, tag('v1.4.0'));
    expect(summary(jobs)).toEqual([
      'weather-app-deploy-production: manual (non-blocking)',
      'weather-app-lint: on_success',
      'weather-app-release: on_success',
      'weather-app-rollback-production: manual (non-blocking)',
      'weather-app-test: on_success',
      'weather-app-trivy: on_success',
    ]);
    expect(needsProblems(jobs)).toEqual([]);
    // Without a build, the release still waits for the checks (needs, not stages, order it).
    expect(
      jobs!
        .get('weather-app-release')!
        .needs.filter((need) => jobs!.has(need.job))
        .map((need) => need.job),
    ).toEqual(['weather-app-lint', 'weather-app-test']);
  });

  it('a release tag with a content key (from slipway plan) looks its image up or builds it before the release', () => {
    const jobs = pipelineFor(app, { ...tag('v1.4.0'), SLIPWAY_CONTENT_KEY: '0123456789abcdef' });
    expect(summary(jobs)).toEqual([
      'weather-app-build: on_success',
      'weather-app-deploy-production: manual (non-blocking)',
      'weather-app-lint: on_success',
      'weather-app-release: on_success',
      'weather-app-rollback-production: manual (non-blocking)',
      'weather-app-test: on_success',
      'weather-app-trivy: on_success',
    ]);
    expect(needsProblems(jobs)).toEqual([]);
    expect(
      jobs!
        .get('weather-app-release')!
        .needs.filter((need) => jobs!.has(need.job))
        .map((need) => need.job),
    ).toEqual(['weather-app-lint', 'weather-app-test', 'weather-app-build']);
    // A tag that is not a release still gets checks only, key or not.
    expect(summary(pipelineFor(app, { ...tag('foo'), SLIPWAY_CONTENT_KEY: '0123456789abcdef' }))).toEqual([
      'weather-app-lint: on_success',
      'weather-app-test: on_success',
    ]);
  });

  it.each(['foo', 'v1.2', 'nightly-2026-11-29'])(
    'a tag that is not a release (%s) gets lint and test only',
    (name) => {
      const jobs = pipelineFor(app, tag(name));
      expect(summary(jobs)).toEqual(['weather-app-lint: on_success', 'weather-app-test: on_success']);
      expect(needsProblems(jobs)).toEqual([]);
    },
  );

  it('SLIPWAY_DELIVERY_DISABLED=true (forwarded from the parent) leaves checks only', () => {
    const jobs = pipelineFor(app, push(DEFAULT_BRANCH, { SLIPWAY_DELIVERY_DISABLED: 'true' }));
    expect(summary(jobs)).toEqual(['weather-app-lint: on_success', 'weather-app-test: on_success']);
  });

  it('the README trunk-based example behaves as weather-app does', async () => {
    const documented = await expand(appPipelineWith(readmeYamlAfter('### Trunk-based'), APP_PIPELINE.stages));
    for (const variables of [push(DEFAULT_BRANCH), tag('v2.0.0'), tag('foo'), mergeRequest('feature/x')]) {
      expect(summary(pipelineFor(documented, variables))).toEqual(summary(pipelineFor(app, variables)));
    }
  }, 120_000);
});

describe("saved-cities' migrate steps go where its deploys go", () => {
  let app: Record<string, unknown>;
  beforeAll(async () => {
    app = await expand(read('apps/saved-cities/.gitlab-ci.yml'));
  }, 120_000);
  const migrateJobs = (jobs: ReturnType<typeof jobsInPipeline> | undefined) =>
    (summary(jobs) ?? []).filter((line) => line.includes('-migrate-'));

  it('the default branch migrates staging, then production before its gate', () => {
    expect(migrateJobs(pipelineFor(app, push(DEFAULT_BRANCH)))).toEqual([
      'saved-cities-migrate-production: on_success',
      'saved-cities-migrate-staging: on_success',
    ]);
  });

  it('a release tag migrates production only', () => {
    expect(migrateJobs(pipelineFor(app, tag('v1.4.0')))).toEqual([
      'saved-cities-migrate-production: on_success',
    ]);
  });

  it.each(['foo', 'v1.2', 'nightly-2026-11-29', 'backup-1'])(
    "a tag that is not a release (%s) never touches production's database",
    (name) => {
      const jobs = pipelineFor(app, tag(name));
      expect(migrateJobs(jobs)).toEqual([]);
      expect(needsProblems(jobs)).toEqual([]);
    },
  );

  it('a merge request and a feature branch migrate nothing', () => {
    expect(migrateJobs(pipelineFor(app, mergeRequest('feature/x')))).toEqual([]);
    expect(migrateJobs(pipelineFor(app, push('feature/x', WITH_OPEN_MR)))).toEqual([]);
  });
});

describe('GitFlow with uat (the README example), configured by a project variable', () => {
  let app: Record<string, unknown>;
  const stages = ['lint', 'test', 'build', 'scan', 'staging', 'uat', 'production'];
  beforeAll(async () => {
    app = await expand(appPipelineWith(readmeYamlAfter('### GitFlow'), stages));
  }, 120_000);

  it('develop deploys staging, with or without an open merge request', () => {
    for (const variables of [push('develop'), push('develop', WITH_OPEN_MR)]) {
      const jobs = pipelineFor(app, { ...variables, ...GITFLOW_PROJECT_VARIABLES });
      expect(summary(jobs)).toEqual([
        'weather-app-build: on_success',
        'weather-app-deploy-staging: on_success',
        'weather-app-lint: on_success',
        'weather-app-rollback-staging: manual (non-blocking)',
        'weather-app-test: on_success',
        'weather-app-trivy: on_success',
      ]);
      expect(needsProblems(jobs)).toEqual([]);
    }
  });

  it('the default branch deploys uat, then offers production as a non-blocking gate', () => {
    const jobs = pipelineFor(app, { ...push(DEFAULT_BRANCH), ...GITFLOW_PROJECT_VARIABLES });
    expect(summary(jobs)).toEqual([
      'weather-app-build: on_success',
      'weather-app-deploy-production: manual (non-blocking)',
      'weather-app-deploy-uat: on_success',
      'weather-app-lint: on_success',
      'weather-app-rollback-production: manual (non-blocking)',
      'weather-app-rollback-uat: manual (non-blocking)',
      'weather-app-test: on_success',
      'weather-app-trivy: on_success',
    ]);
    expect(needsProblems(jobs)).toEqual([]);
  });

  it('a release tag offers production; another tag gets checks only', () => {
    const release = pipelineFor(app, { ...tag('v3.1.0'), ...GITFLOW_PROJECT_VARIABLES });
    expect(summary(release)).toContain('weather-app-deploy-production: manual (non-blocking)');
    expect(needsProblems(release)).toEqual([]);
    const other = pipelineFor(app, { ...tag('foo'), ...GITFLOW_PROJECT_VARIABLES });
    expect(needsProblems(other)).toEqual([]);
    expect(summary(other)).toEqual(['weather-app-lint: on_success', 'weather-app-test: on_success']);
  });

  it('without SLIPWAY_PIPELINE_BRANCHES, develop gets no pipeline at all (the variable is what enables it)', () => {
    expect(pipelineFor(app, push('develop'))).toBeUndefined();
  });
});

describe('run-time switches reach the app pipelines (trigger:forward at both levels)', () => {
  it('the parent forwards pipeline variables to the child pipeline', () => {
    const trigger = (PARENT.apps as { trigger: Record<string, unknown> }).trigger;
    expect(trigger.forward).toEqual({ yaml_variables: true, pipeline_variables: true });
  });

  it('every SLIPWAY_* switch a template rule reads is documented in ci-templates/README.md', () => {
    const readme = read('ci-templates/README.md');
    const switches = new Set<string>();
    for (const text of Object.values(TEMPLATE_FILES)) {
      const [, body] = text.split(/^---$/m);
      for (const job of Object.values(parse(body!) as Record<string, unknown>)) {
        if (!isRecord(job) || !Array.isArray(job.rules)) continue;
        for (const rule of job.rules) {
          if (isRecord(rule) && typeof rule.if === 'string') {
            for (const match of rule.if.matchAll(/\$(SLIPWAY_[A-Z_]+)/g)) switches.add(match[1]!);
          }
        }
      }
    }
    // SLIPWAY_DELIVERY_DISABLED is an on/off switch (documented as `=true`); SLIPWAY_CONTENT_KEY is a value that
    // slipway plan passes each app pipeline (documented by name).
    expect([...switches].sort()).toEqual(['SLIPWAY_CONTENT_KEY', 'SLIPWAY_DELIVERY_DISABLED']);
    expect(readme).toContain('SLIPWAY_DELIVERY_DISABLED=true');
    expect(readme).toMatch(/content key \(`SLIPWAY_CONTENT_KEY`, which `slipway plan` passes/);
    expect(readme).toMatch(/Minimum role to\s+use pipeline variables/);
  });
});
