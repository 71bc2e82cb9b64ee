import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { collectLintTargets, formatLintMessage, templateLintWrapper } from '../src/gitlab/ci-lint';
import { startFakeGitlab, type FakeGitlab } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

const BUILD_TEMPLATE = `spec:
  inputs:
    stage:
      default: package
    app:
      description: the app to build
    push:
      type: boolean
      default: true
    driver:
      options: [script, ssh]
    retries:
      type: number
    image-path:
      regex: ^apps/[a-z-]+$
    endpoint:
      regex: ^https?://
---
slipway-build:
  stage: $[[ inputs.stage ]]
  script: [echo $[[ inputs.app ]]]
`;

let fake: FakeGitlab;
let repo: string;
beforeEach(async () => {
  fake = await startFakeGitlab();
  repo = mkdtempSync(path.join(tmpdir(), 'slipway-lint-'));
  mkdirSync(path.join(repo, 'apps', 'weather-app'), { recursive: true });
  mkdirSync(path.join(repo, 'apps', 'no-pipeline'), { recursive: true });
  mkdirSync(path.join(repo, 'ci-templates'));
  writeFileSync(path.join(repo, '.gitlab-ci.yml'), 'plan:\n  script: [slipway plan]\n');
  writeFileSync(path.join(repo, 'apps', 'weather-app', '.gitlab-ci.yml'), 'broken:\n  scrpit: [x]\n');
  writeFileSync(path.join(repo, 'ci-templates', 'build.yml'), BUILD_TEMPLATE);
  writeFileSync(path.join(repo, 'ci-templates', 'README.md'), '# not a template\n');
});
afterEach(async () => {
  await fake.stop();
  rmSync(repo, { recursive: true, force: true });
});

describe('templateLintWrapper', () => {
  it('includes the template with a sample for each input without a default, and declares its stage', () => {
    expect(parse(templateLintWrapper('ci-templates/build.yml', BUILD_TEMPLATE))).toEqual({
      stages: ['build', 'test', 'deploy', 'package'],
      include: [
        {
          local: 'ci-templates/build.yml',
          // Samples satisfy each input's regex: a path for image-path, a URL for endpoint.
          inputs: {
            app: 'example',
            driver: 'script',
            retries: 1,
            'image-path': 'apps/example',
            endpoint: 'https://example.com',
          },
        },
      ],
    });
  });
});

describe('template lint wrappers under gitlab-ci-local', () => {
  const repoRoot = path.resolve(__dirname, '../../..');
  const gitlabCiLocal = path.join(repoRoot, 'node_modules', '.bin', 'gitlab-ci-local');
  const templates = collectLintTargets(repoRoot).filter((t) => t.file.startsWith('ci-templates/'));

  // GitLab.com is out of reach here; gitlab-ci-local applies the same spec:inputs checks (types, options, regex).
  it.each(templates.map((t) => [t.file, t.content]))('%s wrapper is a valid pipeline', (_file, wrapper) => {
    const clone = mkdtempSync(path.join(tmpdir(), 'slipway-wrapper-'));
    try {
      const git = (...args: string[]) => execFileSync('git', args, { cwd: clone, stdio: 'ignore' });
      git('init', '-q', '-b', 'main');
      git('remote', 'add', 'origin', 'https://gitlab.example.com/demo/slipway.git');
      cpSync(path.join(repoRoot, 'ci-templates'), path.join(clone, 'ci-templates'), { recursive: true });
      writeFileSync(path.join(clone, '.gitlab-ci.yml'), wrapper);
      git('add', '-A');
      git('-c', 'user.email=ci@example.com', '-c', 'user.name=ci', 'commit', '-q', '-m', 'wrapper');
      const result = spawnSync(gitlabCiLocal, ['--list'], { cwd: clone, encoding: 'utf8' });
      expect({
        status: result.status,
        invalid: /invalid|error/i.test(result.stdout + result.stderr) ? result.stdout + result.stderr : '',
      }).toEqual({
        status: 0,
        invalid: '',
      });
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});

describe('formatLintMessage', () => {
  it('puts the line and column GitLab reports after the file name', () => {
    expect(
      formatLintMessage(
        'a.yml',
        'did not find expected key while parsing a block mapping at line 3 column 5',
      ),
    ).toBe('a.yml:3:5: did not find expected key while parsing a block mapping at line 3 column 5');
    expect(formatLintMessage('a.yml', 'jobs:x config contains unknown keys: scrpit')).toBe(
      'a.yml: jobs:x config contains unknown keys: scrpit',
    );
  });
});

describe('slipway gitlab lint', () => {
  it('lints every pipeline file with include_jobs and reports errors with file and line', async () => {
    fake.lint = (content) =>
      content.includes('scrpit')
        ? {
            valid: false,
            errors: ['jobs:broken config contains unknown keys: scrpit', 'syntax error at line 2 column 3'],
            warnings: [],
            merged_yaml: null,
            jobs: [],
          }
        : {
            valid: true,
            errors: [],
            warnings: ['jobs:plan may allow multiple pipelines to run'],
            merged_yaml: content,
            jobs: [{ name: 'plan' }],
          };
    const result = await runSlipwayGitlab(fake, ['lint', '--repo-root', repo]);
    expect(result.exitCode).toBe(1);
    const lintRequests = fake.requests.filter((r) => r.path.endsWith('/ci/lint'));
    expect(lintRequests).toHaveLength(3);
    expect(lintRequests.every((r) => r.body?.include_jobs === true && r.body.dry_run === undefined)).toBe(
      true,
    );
    expect(lintRequests[2]!.body?.content).toContain('local: ci-templates/build.yml');
    expect(result.stdout).toContain('✔ .gitlab-ci.yml: valid (1 job)');
    expect(result.stdout).toContain(
      '  warning .gitlab-ci.yml: jobs:plan may allow multiple pipelines to run',
    );
    expect(result.stderr).toContain('✖ apps/weather-app/.gitlab-ci.yml: invalid');
    expect(result.stderr).toContain(
      '  error   apps/weather-app/.gitlab-ci.yml: jobs:broken config contains unknown keys: scrpit',
    );
    expect(result.stderr).toContain(
      '  error   apps/weather-app/.gitlab-ci.yml:2:3: syntax error at line 2 column 3',
    );
    expect(result.stdout).toContain('2/3 file(s) valid');
  });

  it('lints against a branch as a dry run when --ref is given, and passes when all are valid', async () => {
    const result = await runSlipwayGitlab(fake, ['lint', '--repo-root', repo, '--ref', 'feature/x']);
    expect(result.exitCode).toBe(0);
    const bodies = fake.requests.filter((r) => r.path.endsWith('/ci/lint')).map((r) => r.body);
    expect(bodies.every((b) => b?.ref === 'feature/x' && b.dry_run === true)).toBe(true);
  });

  it('fails clearly when there is nothing to lint', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'slipway-empty-'));
    try {
      const result = await runSlipwayGitlab(fake, ['lint', '--repo-root', empty]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`no pipeline files found under ${empty}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
