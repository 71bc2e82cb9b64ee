// The template rules of `slipway templates check`: the real templates keep them, and each rule fails when a template
// breaks it (every mutation below starts from a real template and changes one thing).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CliUsageError } from '../src/command-line/flags';
import { run as runTemplatesCommand } from '../src/commands/templates';
import { checkTemplate, isPinnedImage } from '../src/templates/check-template';
import { checkTemplateInputs, parseInputArgument } from '../src/templates/template-inputs';
import { parseTemplate, readTemplate } from '../src/templates/template-file';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';

const TEMPLATES_DIR = path.join(REPOSITORY_ROOT, 'ci-templates');
const TEMPLATE_NAMES = ['lint', 'test', 'build', 'trivy', 'deploy', 'release'];

function templateText(name: string): string {
  return readFileSync(path.join(TEMPLATES_DIR, `${name}.yml`), 'utf8');
}

/** The template with `search` replaced by `replacement`; fails the test when `search` is not in it. */
function mutated(name: string, search: string, replacement: string): ReturnType<typeof parseTemplate> {
  const text = templateText(name);
  expect(text).toContain(search);
  return parseTemplate(text.replace(search, replacement), `${name}.yml`);
}

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await runTemplatesCommand(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('the real templates', () => {
  it.each(TEMPLATE_NAMES)('%s.yml keeps every rule', (name) => {
    expect(checkTemplate(readTemplate(path.join(TEMPLATES_DIR, `${name}.yml`)))).toEqual([]);
  });
});

describe('each rule fails when a template breaks it', () => {
  const cases: Array<[string, string, string, string, RegExp]> = [
    [
      'an input without a description',
      'lint',
      '      description: Space-separated turbo tasks',
      '      summary: x',
      /input "tasks" has no description/,
    ],
    [
      'an input without a type',
      'trivy',
      '      type: boolean\n      default: true\n    image:',
      '      default: true\n    image:',
      /input "enabled" needs a type/,
    ],
    [
      'a default outside the options',
      'build',
      '      default: buildah\n',
      '      default: kaniko\n',
      /default of input "builder": "kaniko" is not one of the options/,
    ],
    [
      'a default that fails the regex',
      'trivy',
      '      default: HIGH,CRITICAL',
      '      default: SEVERE',
      /default of input "severity": "SEVERE" does not match the regex/,
    ],
    [
      'a regex GitLab cannot run (lookahead)',
      'lint',
      'regex: ^[A-Za-z0-9_][A-Za-z0-9._/-]*$',
      'regex: ^(?!/)[A-Za-z0-9._/-]+$',
      /lookaround or backreferences/,
    ],
    [
      'a global keyword',
      'lint',
      '.$[[ inputs.job-prefix ]]-lint-base:',
      'stages: [lint]\n.$[[ inputs.job-prefix ]]-lint-base:',
      /global keyword "stages"/,
    ],
    [
      'a missing hidden base job',
      'trivy',
      '.$[[ inputs.job-prefix ]]-trivy-base:',
      '.$[[ inputs.job-prefix ]]-scan-base:',
      /hidden base job "\.\$\[\[ inputs\.job-prefix \]\]-trivy-base" is missing/,
    ],
    [
      'a hidden job not named from inputs that uses inputs',
      'deploy',
      '.slipway-deploy-functions:\n',
      '.slipway-deploy-functions:\n  variables:\n    APP: $[[ inputs.app-name ]]\n',
      /hidden job "\.slipway-deploy-functions" uses inputs/,
    ],
    [
      'a job extending a hidden job every include shares',
      'lint',
      '.$[[ inputs.job-prefix ]]-lint-base:\n',
      '.slipway-lint-shared:\n  interruptible: true\n.$[[ inputs.job-prefix ]]-lint-base:\n  extends: .slipway-lint-shared\n',
      /job "\$\[\[ inputs\.job-prefix \]\]-lint" reaches hidden job "\.slipway-lint-shared" by name/,
    ],
    [
      'a job referencing a shared shell block by name instead of by anchor',
      'deploy',
      '    - *slipway-deploy-functions\n    - slipway_rollback_manually',
      '    - !reference [.slipway-deploy-functions, script]\n    - slipway_rollback_manually',
      /reaches hidden job "\.slipway-deploy-functions" by name, which is not named from \$\[\[ inputs\.job-prefix \]\] and \$\[\[ inputs\.environment \]\]/,
    ],
    [
      'a job not named from job-prefix',
      'lint',
      '$[[ inputs.job-prefix ]]-lint:',
      'lint:',
      /job "lint" must be named/,
    ],
    [
      'a job with a fixed stage',
      'lint',
      '  stage: $[[ inputs.stage ]]',
      '  stage: lint',
      /must set stage: \$\[\[ inputs.stage \]\]/,
    ],
    [
      'only/except',
      'release',
      '  extends: .$[[ inputs.job-prefix ]]-release-base\n',
      '  extends: .$[[ inputs.job-prefix ]]-release-base\n  only: [tags]\n',
      /use rules, not only\/except/,
    ],
    [
      'a literal main branch',
      'build',
      '    - if: $CI_COMMIT_TAG\n',
      '    - if: $CI_COMMIT_BRANCH == "main"\n',
      /names a branch literally/,
    ],
    [
      'set -x in a script',
      'release',
      '    - |\n      slipway_registry_password',
      '    - set -x\n    - |\n      slipway_registry_password',
      /traces commands/,
    ],
    [
      'a password argument to login',
      'release',
      '| skopeo login --tls-verify="$SLIPWAY_TLS_VERIFY" --username "$SLIPWAY_REGISTRY_USER" --password-stdin',
      '&& skopeo login --username u -p "$slipway_registry_password"',
      /passes a password as an argument/,
    ],
    [
      'a deploy that is interruptible',
      'deploy',
      '  interruptible: false',
      '  interruptible: true',
      /deploys \(it has an environment\), so it must be interruptible: false/,
    ],
    [
      'a job that is not interruptible',
      'test',
      '.$[[ inputs.job-prefix ]]-test-base:\n  image: $[[ inputs.image ]]\n  interruptible: true',
      '.$[[ inputs.job-prefix ]]-test-base:\n  image: $[[ inputs.image ]]\n  interruptible: false',
      /job "example-test" must be interruptible: true/,
    ],
    [
      'an unpinned image default',
      'release',
      'default: quay.io/skopeo/stable:v1.20.0',
      'default: quay.io/skopeo/stable:latest',
      /image "quay.io\/skopeo\/stable:latest" is not pinned/,
    ],
    [
      'an unused input',
      'trivy',
      '    TRIVY_USERNAME: $[[ inputs.registry-user ]]\n',
      '',
      /input "registry-user" is never used/,
    ],
    [
      'an undeclared input',
      'trivy',
      '$[[ inputs.severity ]]',
      '$[[ inputs.severities ]]',
      /"\$\[\[ inputs\.severities \]\]" is not declared/,
    ],
    [
      'a job without rules',
      'lint',
      '  rules:\n    - when: on_success\n',
      '',
      /job "example-lint" has no rules/,
    ],
    [
      'an extends target missing for one option',
      'build',
      '.$[[ inputs.job-prefix ]]-build-docker:',
      '.$[[ inputs.job-prefix ]]-build-podman:',
      /extends refers to "\.example-build-docker"/,
    ],
    [
      'a deploy driver option without its variant',
      'deploy',
      '.$[[ inputs.job-prefix ]]-deploy-$[[ inputs.environment ]]-script:',
      '.$[[ inputs.job-prefix ]]-deploy-$[[ inputs.environment ]]-shell:',
      /job "example-rollback-[a-z-]+": extends refers to "\.example-deploy-[a-z-]+-script"/,
    ],
  ];
  it.each(cases)('%s', (_what, name, search, replacement, problem) => {
    const problems = checkTemplate(mutated(name, search, replacement));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});

describe('the default-branch rule', () => {
  it.each([
    ['$CI_COMMIT_BRANCH == "main"', true],
    ['$CI_COMMIT_REF_NAME =~ /^master$/', true],
    ['git push origin main', true],
    ['node dist/main.js', false],
    ['cd maintenance', false],
  ])('%s -> flagged: %s', (line, flagged) => {
    const template = mutated(
      'lint',
      '  script:\n',
      `  script:\n    - echo ok\n    - ${JSON.stringify(line)}\n`,
    );
    const problems = checkTemplate(template).filter((problem) =>
      problem.includes('names a branch literally'),
    );
    expect(problems).toHaveLength(flagged ? 1 : 0);
  });
});

describe('test.yml coverage regex', () => {
  it("reads the line coverage from jest text-summary, behind turbo's log prefix", () => {
    const literal = readTemplate(path.join(TEMPLATES_DIR, 'test.yml')).inputs['coverage-regex']
      ?.default as string;
    // GitLab takes the last line the regex matches, and in it the first number \d+(?:\.\d+)?
    // (https://docs.gitlab.com/ci/testing/code_coverage/#coverage-regex-patterns).
    const coverage = new RegExp(literal.slice(1, -1));
    const log = [
      '@slipway/weather-app:test: Statements   : 92.4% ( 410/443 )',
      '@slipway/weather-app:test: Branches     : 81.25% ( 130/160 )',
      '@slipway/weather-app:test: Lines        : 93.1% ( 400/430 )',
    ];
    const matched = log.map((line) => coverage.exec(line)?.[0]).filter(Boolean);
    expect(matched).toHaveLength(1);
    expect(/\d+(?:\.\d+)?/.exec(matched.at(-1)!)?.[0]).toBe('93.1');
    // The docs ask for non-capturing groups only: no "(" that is not "(?".
    expect(literal).not.toMatch(/(^|[^\\])\((?!\?)/);
  });

  it('rejects a coverage regex with a capturing group in the input', () => {
    const template = readTemplate(path.join(TEMPLATES_DIR, 'test.yml'));
    const inputs = { 'job-prefix': 'api', 'app-name': 'api', 'app-path': 'services/api' };
    expect(
      checkTemplateInputs(template, { ...inputs, 'coverage-regex': '/Lines\\s*:\\s*(\\d+)%/' }).problems,
    ).toEqual([expect.stringContaining('coverage-regex')]);
    expect(
      checkTemplateInputs(template, { ...inputs, 'coverage-regex': '/Lines\\s*:\\s*\\d+(?:\\.\\d+)?%/' })
        .problems,
    ).toEqual([]);
  });
});

describe('isPinnedImage', () => {
  it.each([
    ['node:24.11.1-bookworm-slim', true],
    ['quay.io/buildah/stable:v1.41.5', true],
    ['registry.example.com:5000/team/app@sha256:' + 'a'.repeat(64), true],
    ['node:latest', false],
    ['node:24-slim', false],
    ['node', false],
    ['registry.example.com:5000/team/app', false],
  ])('%s -> %s', (reference, pinned) => {
    expect(isPinnedImage(reference)).toBe(pinned);
  });
});

describe('checkTemplateInputs', () => {
  const deploy = () => readTemplate(path.join(TEMPLATES_DIR, 'deploy.yml'));
  const valid = {
    'job-prefix': 'weather-app',
    'app-name': 'weather-app',
    environment: 'staging',
    'deployment-tier': 'staging',
    url: 'https://weather-staging.example.com',
  };

  it('accepts valid inputs and fills in the defaults', () => {
    const { values, problems } = checkTemplateInputs(deploy(), valid);
    expect(problems).toEqual([]);
    expect(values).toMatchObject({
      ...valid,
      driver: 'kubernetes',
      'verify-timeout': 120,
      when: 'on_success',
    });
  });

  it('names a missing required input', () => {
    const { environment: _environment, ...withoutEnvironment } = valid;
    expect(checkTemplateInputs(deploy(), withoutEnvironment).problems).toEqual([
      expect.stringMatching(/^input "environment" is required \(it has no default\)/),
    ]);
  });

  it('rejects a value outside the options', () => {
    expect(checkTemplateInputs(deploy(), { ...valid, driver: 'helm' }).problems).toEqual([
      'input "driver": "helm" is not one of the options "kubernetes", "compose", "script"',
    ]);
  });

  it('rejects a regex violation', () => {
    expect(checkTemplateInputs(deploy(), { ...valid, 'job-prefix': 'Weather_App' }).problems).toEqual([
      'input "job-prefix": "Weather_App" does not match the regex ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
    ]);
  });

  it('rejects a wrong type and an unknown input', () => {
    const { problems } = checkTemplateInputs(deploy(), {
      ...valid,
      'verify-timeout': 'soon',
      colour: 'blue',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^unknown input "colour"; deploy\.yml takes stage, job-prefix/),
      'input "verify-timeout" must be a number, got string "soon"',
    ]);
  });

  it('parses --input values by the declared type', () => {
    const template = deploy();
    expect(parseInputArgument(template, 'verify-timeout=30')).toEqual(['verify-timeout', 30]);
    expect(parseInputArgument(template, 'verify=false')).toEqual(['verify', false]);
    expect(parseInputArgument(template, 'url=https://a.example/x=y')).toEqual([
      'url',
      'https://a.example/x=y',
    ]);
    const test = readTemplate(path.join(TEMPLATES_DIR, 'test.yml'));
    expect(parseInputArgument(test, 'integration-services=[{"name":"postgres:16.10"}]')).toEqual([
      'integration-services',
      [{ name: 'postgres:16.10' }],
    ]);
  });
});

describe('slipway templates check (CLI)', () => {
  let root: string | undefined;
  afterEach(() => removeDir(root));

  function copyOfRepository(): string {
    root = makeTempDir('templates-check');
    cpSync(TEMPLATES_DIR, path.join(root, 'ci-templates'), { recursive: true });
    return root;
  }

  it('passes on this repository: templates, pipelines and README tables', async () => {
    const result = await runCli(['check', '--root', REPOSITORY_ROOT]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('templates: ok');
  });

  it('fails (exit 1) on a pipeline that passes an input outside its regex, and names it', async () => {
    const dir = copyOfRepository();
    writeFileSync(
      path.join(dir, '.gitlab-ci.yml'),
      [
        'include:',
        '  - local: ci-templates/lint.yml',
        '    inputs: { job-prefix: Weather_App, app-name: weather-app, app-path: apps/weather-app }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['check', '--root', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      '.gitlab-ci.yml: include[0] lint.yml: input "job-prefix": "Weather_App" does not match the regex',
    );
  });

  it('checks the --input values given for a template file', async () => {
    const ok = await runCli([
      'check',
      path.join(TEMPLATES_DIR, 'trivy.yml'),
      '--input',
      'job-prefix=api',
      '--input',
      'severity=CRITICAL',
    ]);
    expect(ok.code).toBe(0);
    const bad = await runCli([
      'check',
      path.join(TEMPLATES_DIR, 'trivy.yml'),
      '--input',
      'job-prefix=api',
      '--input',
      'image=aquasec/trivy:latest',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('image "aquasec/trivy:latest" is not pinned');
  });

  it('reports README drift', async () => {
    const dir = copyOfRepository();
    const readme = path.join(dir, 'ci-templates', 'README.md');
    writeFileSync(
      readme,
      readFileSync(readme, 'utf8').replace('| `tasks` | string |', '| `tasks` | number |'),
    );
    const result = await runCli(['check', '--root', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the inputs table of lint.yml is out of date');
  });

  it.each([
    [['check', '--colour'], /Unknown option '--colour'/],
    [['check', '--input', 'job-prefix'], /--input "job-prefix" must be NAME=VALUE/],
    [['check', '--input', 'job-prefix=x'], /--input needs the template FILE\(s\)/],
    [['docs', 'lint.yml'], /takes no files or inputs/],
    [['lint'], /unknown templates command "lint"/],
  ])('rejects bad usage %j', async (argv, message) => {
    const failure = runCli([...argv, '--root', REPOSITORY_ROOT]);
    await expect(failure).rejects.toBeInstanceOf(CliUsageError);
    await expect(failure).rejects.toThrow(message);
  });
});
