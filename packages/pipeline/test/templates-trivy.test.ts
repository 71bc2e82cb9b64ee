// trivy.yml's job, run by gitlab-ci-local's shell executor. Trivy itself cannot be installed here, so a stand-in on
// PATH records its arguments, writes the files it is asked for, and "finds" a vulnerability when told to: enough to
// see the reports come before the gate, the gate's severity and --ignore-unfixed, and no password in the log.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, GITLAB_CI_LOCAL, runGitlabCiLocal } from './support/gitlab-ci-local';

const IMAGE = `registry.example.com/shop/api@sha256:${'d'.repeat(64)}`;
const PASSWORD = 'registry-secret-91ab';

const FAKE_TRIVY = `#!/bin/sh
echo "trivy $* (user=$TRIVY_USERNAME password-set=\${TRIVY_PASSWORD:+yes} cache=$TRIVY_CACHE_DIR)" >>"$FAKE_STATE/calls"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --output) echo '{}' >"$2"; shift 2 ;;
    --exit-code) exit_code="$2"; shift 2 ;;
    *) shift ;;
  esac
done
if [ -n "\${exit_code:-}" ] && [ -f "$FAKE_STATE/vulnerable" ]; then
  echo "Total: 1 (CRITICAL: 1)"
  exit "$exit_code"
fi
`;

describe('trivy.yml (trivy stand-in)', () => {
  let repo: string | undefined;
  let state: string;
  let bin: string;

  beforeEach(() => {
    state = makeTempDir('trivy-state');
    bin = makeTempDir('trivy-bin');
    writeFileSync(path.join(bin, 'trivy'), FAKE_TRIVY);
    chmodSync(path.join(bin, 'trivy'), 0o755);
    writeFileSync(path.join(state, 'calls'), '');
  });
  afterEach(() => {
    removeDir(repo);
    removeDir(state);
    removeDir(bin);
  });

  async function scan(inputs: Record<string, unknown>, variables: Record<string, string>) {
    repo = createGitRepo({
      '.gitlab-ci.yml': stringify({
        stages: ['scan'],
        include: [{ local: 'ci-templates/trivy.yml', inputs: { 'job-prefix': 'api', ...inputs } }],
      }),
      'ci-templates/trivy.yml': readFileSync(path.join(REPOSITORY_ROOT, 'ci-templates', 'trivy.yml'), 'utf8'),
    });
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', 'api-trivy'],
      variables: { CI_REGISTRY_USER: 'ci', CI_REGISTRY_PASSWORD: PASSWORD, ...variables },
      env: {
        FAKE_STATE: state,
        PATH: [bin, path.dirname(GITLAB_CI_LOCAL), process.env.PATH].join(path.delimiter),
      },
    });
    const calls = readFileSync(path.join(state, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
    return { ...result, output: result.stdout + result.stderr, calls };
  }

  it('writes the container-scanning report and the SBOM, then gates on the severity', async () => {
    const result = await scan({ severity: 'CRITICAL' }, { IMAGE_DIGEST: IMAGE });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      'trivy image --download-db-only (user=ci password-set=yes cache=.trivycache/)',
      `trivy image --skip-db-update --format template --template @/contrib/gitlab.tpl --output gl-container-scanning-report.json ${IMAGE} (user=ci password-set=yes cache=.trivycache/)`,
      `trivy image --skip-db-update --format cyclonedx --output gl-sbom-image.cdx.json ${IMAGE} (user=ci password-set=yes cache=.trivycache/)`,
      `trivy image --skip-db-update --exit-code 1 --severity CRITICAL --ignore-unfixed ${IMAGE} (user=ci password-set=yes cache=.trivycache/)`,
    ]);
    expect(result.output).not.toContain(PASSWORD);
  }, 120_000);

  it('fails on a finding, with both reports already written for upload', async () => {
    writeFileSync(path.join(state, 'vulnerable'), '');
    const result = await scan({ 'ignore-unfixed': false }, { IMAGE_DIGEST: IMAGE });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Total: 1 (CRITICAL: 1)');
    expect(result.calls.at(-1)).toContain('--exit-code 1 --severity HIGH,CRITICAL ' + IMAGE);
    expect(result.calls.at(-1)).not.toContain('--ignore-unfixed');
    for (const report of ['gl-container-scanning-report.json', 'gl-sbom-image.cdx.json']) {
      expect(existsSync(path.join(repo!, report))).toBe(true);
    }
  }, 120_000);

  it('refuses to scan without IMAGE_DIGEST, and says where it comes from', async () => {
    const result = await scan({}, {});
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      'slipway: IMAGE_DIGEST is not set; the build (or release) job must export it',
    );
    expect(result.calls).toEqual([]);
  }, 120_000);
});
