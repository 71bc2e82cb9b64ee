// build.yml's `build-args`, run by gitlab-ci-local's shell executor with a buildah stand-in that records its
// arguments: a `*` must reach buildah as a `*` (not the checkout's file names), and a tab or newline inside the value
// must fail the job instead of splitting one argument into two. The input's regex (checked by `slipway templates
// check` and by gitlab-ci-local 4.75) rejects whitespace inside a value.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkTemplateInputs } from '../src/templates/template-inputs';
import { readTemplate } from '../src/templates/template-file';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { GITLAB_CI_LOCAL, runGitlabCiLocal } from './support/gitlab-ci-local';
import { createTemplateRepo } from './support/template-repository';

const BUILD_TEMPLATE = path.join(REPOSITORY_ROOT, 'ci-templates', 'build.yml');

// buildah: records each call's arguments one per line; `push --digestfile F` writes a digest to F. `login` reads its
// stdin as the real one does: a login that leaves the password unread lets the job's `printf |` die of SIGPIPE.
const FAKE_BUILDAH = `#!/bin/sh
printf '%s\\n' "$@" >"$FAKE_STATE/buildah-$1"
[ "$1" = login ] && cat >"$FAKE_STATE/buildah-login-stdin"
previous=''
for argument in "$@"; do
  [ "$previous" = --digestfile ] && echo "sha256:${'b'.repeat(64)}" >"$argument"
  previous="$argument"
done
exit 0
`;

describe('build.yml build-args', () => {
  let repo: string | undefined;
  let state: string;
  beforeEach(() => {
    state = makeTempDir('build-state');
    writeFileSync(path.join(state, 'buildah'), FAKE_BUILDAH);
    chmodSync(path.join(state, 'buildah'), 0o755);
  });
  afterEach(() => {
    removeDir(repo);
    removeDir(state);
  });

  async function build(buildArgs: string, variables: Record<string, string> = {}, passwordVariable = '') {
    repo = createTemplateRepo(
      ['build'],
      [
        {
          template: 'build',
          inputs: {
            'job-prefix': 'api',
            'app-name': 'api',
            'app-path': 'services/api',
            'build-args': buildArgs,
            'image-repository': 'registry.example.com/shop',
            'registry-user': 'ci-user',
            'registry-password-variable': passwordVariable,
            'layer-cache': false,
          },
        },
      ],
      {
        'services/api/package.json': '{ "name": "api", "version": "1.2.3" }\n',
        // Files a `*` would glob to, if it were expanded.
        'glob-bait-1.txt': '',
        'glob-bait-2.txt': '',
      },
    );
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', 'api-build'],
      variables,
      env: {
        FAKE_STATE: state,
        PATH: [state, path.dirname(GITLAB_CI_LOCAL), process.env.PATH].join(path.delimiter),
      },
    });
    return { ...result, output: result.stdout + result.stderr };
  }

  const budArguments = () => readFileSync(path.join(state, 'buildah-bud'), 'utf8').trim().split('\n');

  it('passes a * in a value literally, without globbing against the checkout', async () => {
    const result = await build('PATTERN=*.txt NODE_IMAGE=node:24.11.1-bookworm-slim');
    expect(result.code).toBe(0);
    expect(budArguments()).toEqual(
      expect.arrayContaining(['--build-arg', 'PATTERN=*.txt', 'NODE_IMAGE=node:24.11.1-bookworm-slim']),
    );
    expect(budArguments().join('\n')).not.toContain('glob-bait');
  }, 120_000);

  it('fails on a newline inside a value instead of splitting it into two arguments', async () => {
    // The input's regex refuses it (gitlab-ci-local 4.75 checks it too) ...
    const refused = await build('LABEL=one\nINJECTED=two');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('`build-args` input');
    // ... and the job refuses it when a CI/CD variable overrides the job's SLIPWAY_BUILD_ARGS.
    const overridden = await build('', { SLIPWAY_BUILD_ARGS: 'LABEL=one\nINJECTED=two' });
    expect(overridden.code).not.toBe(0);
    expect(overridden.output).toContain(
      'slipway: build-args must be NAME=value pairs separated by single spaces',
    );
  }, 120_000);

  it('rejects whitespace inside a value in the input regex', () => {
    const template = readTemplate(BUILD_TEMPLATE);
    const inputs = { 'job-prefix': 'api', 'app-name': 'api', 'app-path': 'services/api' };
    for (const bad of ['LABEL=one\nINJECTED=two', 'LABEL=a\tb', 'A=1  B=2']) {
      expect(checkTemplateInputs(template, { ...inputs, 'build-args': bad }).problems).toEqual([
        expect.stringContaining('build-args'),
      ]);
    }
    expect(checkTemplateInputs(template, { ...inputs, 'build-args': 'A=* B=x' }).problems).toEqual([]);
  });

  it("gives the registry password only to the builder's own login command", async () => {
    const pwned = path.join(state, 'pwned');
    const ok = await build('', { REGISTRY_PASSWORD: 'registry-secret-3c1' }, 'REGISTRY_PASSWORD');
    expect(ok.code).toBe(0);
    expect(readFileSync(path.join(state, 'buildah-login'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['--tls-verify=true', '--password-stdin']),
    );
    expect(readFileSync(path.join(state, 'buildah-login-stdin'), 'utf8')).toBe('registry-secret-3c1');
    const overridden = await build(
      '',
      { REGISTRY_PASSWORD: 'registry-secret-3c1', SLIPWAY_LOGIN: `tee ${pwned}` },
      'REGISTRY_PASSWORD',
    );
    expect(overridden.code).not.toBe(0);
    expect(overridden.output).toContain("slipway: SLIPWAY_LOGIN must be the builder's login command");
    expect(existsSync(pwned)).toBe(false);
  }, 120_000);
});
