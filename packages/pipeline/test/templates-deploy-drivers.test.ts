// deploy.yml's kubernetes and compose drivers, run by gitlab-ci-local's shell executor. There is no cluster and no
// ssh host here, so kubectl, ssh and docker are small stand-ins on PATH that keep their state in files: they let the
// test see exactly which commands the template runs, and what it rolls back to.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installDeployStandIns } from './support/deploy-stand-ins';
import { makeTempDir, removeDir } from './support/fixture-repository';
import { GITLAB_CI_LOCAL, runGitlabCiLocal } from './support/gitlab-ci-local';
import { createTemplateRepo } from './support/template-repository';

const digest = (n: number) => `registry.example.com/shop/api@sha256:${String(n).repeat(64).slice(0, 64)}`;

/** The deploy job's inputs: production of app `api`, verification off unless a test turns it on. */
function deployInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  return {
    stage: 'production',
    'job-prefix': 'api',
    'app-name': 'api',
    environment: 'production',
    'deployment-tier': 'production',
    url: 'https://api.example.com',
    verify: false,
    ...inputs,
  };
}

describe('deploy.yml drivers (kubectl, ssh and docker stand-ins)', () => {
  let repo: string | undefined;
  let state: string;
  let bin: string;

  beforeEach(() => {
    state = makeTempDir('driver-state');
    bin = makeTempDir('driver-bin');
    installDeployStandIns(bin);
  });
  afterEach(() => {
    removeDir(repo);
    removeDir(state);
    removeDir(bin);
  });

  async function deploy(
    inputs: Record<string, unknown>,
    imageDigest: string,
    variables: Record<string, string> = {},
    job = 'api-deploy-production',
  ) {
    removeDir(repo);
    repo = createTemplateRepo(['production'], [{ template: 'deploy', inputs: deployInputs(inputs) }]);
    writeFileSync(path.join(state, 'calls'), '');
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', job],
      variables: { IMAGE_DIGEST: imageDigest, ...variables },
      env: {
        FAKE_STATE: state,
        PATH: [bin, path.dirname(GITLAB_CI_LOCAL), process.env.PATH].join(path.delimiter),
      },
    });
    const calls = readFileSync(path.join(state, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
    return { ...result, output: result.stdout + result.stderr, calls };
  }

  const kubernetes = {
    driver: 'kubernetes',
    'kube-context': 'shop/agents:production',
    'kube-namespace': 'shop',
  };
  const image = () => readFileSync(path.join(state, 'image'), 'utf8');

  it('kubernetes: sets the image by digest and waits for the rollout', async () => {
    writeFileSync(path.join(state, 'image'), digest(1));
    const result = await deploy(kubernetes, digest(2));
    expect(result.code).toBe(0);
    expect(image()).toBe(digest(2));
    const scoped = 'kubectl --context shop/agents:production --namespace shop';
    expect(result.calls).toEqual([
      expect.stringMatching(new RegExp(`^${scoped} get deployment/api -o jsonpath=`)),
      `${scoped} set image deployment/api api=${digest(2)}`,
      expect.stringMatching(
        new RegExp(
          `^${scoped} annotate deployment/api --overwrite kubernetes.io/change-cause=slipway: [0-9a-f]{40} from `,
        ),
      ),
      `${scoped} rollout status deployment/api --timeout=300s`,
    ]);
    expect(result.output).toContain(`running now: ${digest(1)}`);
  }, 120_000);

  it('kubernetes: a failed rollout is undone, and the job says so and fails', async () => {
    writeFileSync(path.join(state, 'image'), digest(1));
    writeFileSync(path.join(state, 'failing-image'), digest(2));
    const result = await deploy(kubernetes, digest(2));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('slipway: DEPLOY FAILED: the kubernetes driver failed (exit 1).');
    expect(result.output).toContain(
      `slipway: ROLLED BACK production/api to the previous version (${digest(1)})`,
    );
    expect(result.calls).toContain(
      'kubectl --context shop/agents:production --namespace shop rollout undo deployment/api',
    );
    expect(image()).toBe(digest(1));
  }, 120_000);

  it('kubernetes: a failed redeploy of the running image is not "rolled back" to an older one', async () => {
    writeFileSync(path.join(state, 'image'), digest(2));
    writeFileSync(path.join(state, 'failing-image'), digest(2));
    const result = await deploy(kubernetes, digest(2));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      'production/api already ran this image before the deploy; nothing to roll back to.',
    );
    expect(result.calls.some((call) => call.includes('rollout undo'))).toBe(false);
  }, 120_000);

  // The rollback job extends the same driver variant as the deploy job (`extends: ...-$[[ inputs.driver ]]`).
  it('kubernetes: the manual rollback job undoes the rollout with the driver the deploy used', async () => {
    writeFileSync(path.join(state, 'image'), digest(2));
    writeFileSync(path.join(state, 'history'), `${digest(1)}\n`);
    const result = await deploy(kubernetes, digest(2), {}, 'api-rollback-production');
    expect(result.code).toBe(0);
    expect(result.output).toContain('slipway: rolling back production/api with the kubernetes driver');
    expect(result.calls).toEqual([
      'kubectl --context shop/agents:production --namespace shop rollout undo deployment/api',
      'kubectl --context shop/agents:production --namespace shop rollout status deployment/api --timeout=300s',
    ]);
    expect(image()).toBe(digest(1));
  }, 120_000);

  it('compose: the manual rollback job restores the previous image over ssh', async () => {
    const host = path.join(state, 'srv', 'api');
    mkdirSync(host, { recursive: true });
    writeFileSync(path.join(host, 'slipway.env'), `APP_IMAGE=${digest(2)}\n`);
    writeFileSync(path.join(host, 'slipway.env.previous'), `APP_IMAGE=${digest(1)}\n`);
    const result = await deploy(
      { driver: 'compose', 'ssh-host': 'deploy@app-1.example.com', 'compose-dir': host },
      digest(2),
      { SSH_PRIVATE_KEY: 'not-a-real-key-7c1e', SSH_KNOWN_HOSTS: 'app-1.example.com ssh-ed25519 AAAA' },
      'api-rollback-production',
    );
    expect(result.code).toBe(0);
    expect(result.output).toContain('slipway: rolled back production/api');
    expect(readFileSync(path.join(host, 'slipway.env'), 'utf8')).toBe(`APP_IMAGE=${digest(1)}\n`);
    expect(result.calls).toContain('docker compose --env-file slipway.env up --detach --no-deps api');
  }, 120_000);

  it('compose: keeps the previous image on the host and restores it when the new one fails', async () => {
    const host = path.join(state, 'srv', 'api');
    mkdirSync(host, { recursive: true });
    const compose = {
      driver: 'compose',
      'ssh-host': 'deploy@app-1.example.com',
      'compose-dir': host,
    };
    const secrets = {
      SSH_PRIVATE_KEY: 'not-a-real-key-7c1e',
      SSH_KNOWN_HOSTS: 'app-1.example.com ssh-ed25519 AAAA',
    };
    const envFile = (name: string) => readFileSync(path.join(host, name), 'utf8');

    const first = await deploy(compose, digest(1), secrets);
    expect(first.code).toBe(0);
    expect(envFile('slipway.env')).toBe(`APP_IMAGE=${digest(1)}\n`);
    expect(existsSync(path.join(host, 'slipway.env.previous'))).toBe(false);
    // pull, then up without --wait (compose v1 and v2 before 2.1.1 lack it) and without restarting dependencies.
    expect(first.calls).toEqual(
      expect.arrayContaining([
        'docker compose --env-file slipway.env pull api',
        'docker compose --env-file slipway.env up --detach --no-deps api',
      ]),
    );
    expect(first.calls.join('\n')).not.toContain('--wait');
    expect(first.calls.filter((call) => call.startsWith('ssh '))[0]).toMatch(
      /^ssh -i \S+ -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=\S+ -- deploy@app-1\.example\.com sh -s -- /,
    );
    expect(first.output).not.toContain(secrets.SSH_PRIVATE_KEY);
    // The key was written to a file for ssh, and that file is gone once the job ends.
    const keyFile = /^ssh -i (\S+)/.exec(first.calls.find((call) => call.startsWith('ssh ')) ?? '')?.[1];
    expect(keyFile).toBeDefined();
    expect(existsSync(keyFile!)).toBe(false);
    // Written once: both ssh calls of the job (read the running image, deploy) use the same key file.
    const keyFiles = first.calls.filter((call) => call.startsWith('ssh ')).map((call) => call.split(' ')[2]);
    expect(keyFiles).toHaveLength(2);
    expect(new Set(keyFiles).size).toBe(1);

    const second = await deploy(compose, digest(2), secrets);
    expect(second.code).toBe(0);
    expect(envFile('slipway.env')).toBe(`APP_IMAGE=${digest(2)}\n`);
    expect(envFile('slipway.env.previous')).toBe(`APP_IMAGE=${digest(1)}\n`);

    writeFileSync(path.join(state, 'failing-image'), digest(3));
    const third = await deploy(compose, digest(3), secrets);
    expect(third.code).not.toBe(0);
    expect(third.output).toContain('slipway: DEPLOY FAILED: the compose driver failed');
    expect(third.output).toContain(`ROLLED BACK production/api to the previous version (${digest(2)})`);
    expect(envFile('slipway.env')).toBe(`APP_IMAGE=${digest(2)}\n`);
    expect(envFile('slipway.env.failed')).toBe(`APP_IMAGE=${digest(3)}\n`);
  }, 240_000);

  // A file-type CI/CD variable holds a path, and the runner leaves that file readable by others (0644 here).
  it('compose: an ssh key from a file variable reaches ssh as a private copy', async () => {
    const host = path.join(state, 'srv', 'file-key');
    mkdirSync(host, { recursive: true });
    const keyFile = path.join(state, 'SSH_PRIVATE_KEY');
    writeFileSync(keyFile, 'not-a-real-key-file-3b9d\n');
    chmodSync(keyFile, 0o644);
    const result = await deploy(
      { driver: 'compose', 'ssh-host': 'deploy@app-1.example.com', 'compose-dir': host },
      digest(1),
      { SSH_PRIVATE_KEY: keyFile, SSH_KNOWN_HOSTS: 'app-1.example.com ssh-ed25519 AAAA' },
    );
    expect(result.output).not.toContain('bad permissions');
    expect(result.code).toBe(0);
    expect(result.calls.find((call) => call.startsWith('ssh '))).not.toContain(keyFile);
    expect(readFileSync(path.join(host, 'slipway.env'), 'utf8')).toBe(`APP_IMAGE=${digest(1)}\n`);
  }, 120_000);

  it('compose: a missing ssh key fails before anything is deployed, naming the variable', async () => {
    const result = await deploy(
      { driver: 'compose', 'ssh-host': 'deploy@app-1.example.com', 'compose-dir': '/srv/api' },
      digest(1),
    );
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('$SSH_PRIVATE_KEY (the ssh private key) is empty');
    expect(result.output).not.toMatch(/DEPLOY FAILED|ROLL/);
    expect(result.calls).toEqual([]);
  }, 120_000);

  it('an empty url fails before anything is deployed, when verification is on', async () => {
    writeFileSync(path.join(state, 'image'), digest(1));
    const result = await deploy({ ...kubernetes, verify: true, url: '$API_PRODUCTION_URL' }, digest(2));
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(
      'slipway: the url input is empty (a CI/CD variable it names is not set?)',
    );
    expect(result.calls).toEqual([]);
    expect(image()).toBe(digest(1));
  }, 120_000);

  const compose = (host: string) => ({
    driver: 'compose',
    'ssh-host': 'deploy@app-1.example.com',
    'compose-dir': host,
  });
  const sshSecrets = {
    SSH_PRIVATE_KEY: 'not-a-real-key-7c1e',
    SSH_KNOWN_HOSTS: 'app-1.example.com ssh-ed25519 AAAA',
  };

  it('compose: a digest that is not <name>@sha256:<64 hex> is refused before ssh runs (no remote injection)', async () => {
    const host = path.join(state, 'srv', 'api');
    mkdirSync(host, { recursive: true });
    const hostile = `registry.example/app@sha256:abc'; touch ${path.join(state, 'pwned')}; echo '`;
    const result = await deploy(compose(host), hostile, sshSecrets);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('slipway: IMAGE_DIGEST must match');
    expect(result.output).not.toMatch(/DEPLOY FAILED|ROLL/);
    expect(existsSync(path.join(state, 'pwned'))).toBe(false);
    expect(result.calls).toEqual([]);
  }, 120_000);

  it('compose: an ssh host that ssh would read as an option is refused', async () => {
    const result = await deploy({ ...compose('/srv/api'), 'ssh-host': '$DEPLOY_HOST' }, digest(1), {
      ...sshSecrets,
      DEPLOY_HOST: `-oProxyCommand=touch ${path.join(state, 'pwned')}`,
    });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('slipway: the ssh-host input must match');
    expect(existsSync(path.join(state, 'pwned'))).toBe(false);
    expect(result.calls).toEqual([]);
  }, 120_000);

  it('compose: without known hosts it fails closed, unless ssh-trust-on-first-use is on', async () => {
    const host = path.join(state, 'srv', 'api');
    mkdirSync(host, { recursive: true });
    const closed = await deploy(compose(host), digest(1), { SSH_PRIVATE_KEY: sshSecrets.SSH_PRIVATE_KEY });
    expect(closed.code).not.toBe(0);
    expect(closed.output).toContain(
      '$SSH_KNOWN_HOSTS is empty, so deploy@app-1.example.com cannot be authenticated',
    );
    expect(closed.calls).toEqual([]);

    const tofu = await deploy({ ...compose(host), 'ssh-trust-on-first-use': true }, digest(1), {
      SSH_PRIVATE_KEY: sshSecrets.SSH_PRIVATE_KEY,
    });
    expect(tofu.code).toBe(0);
    expect(tofu.output).toContain(
      'ssh-trust-on-first-use is on: deploy@app-1.example.com is not authenticated',
    );
    expect(tofu.calls.filter((call) => call.startsWith('ssh '))[0]).toContain(
      '-o StrictHostKeyChecking=accept-new --',
    );
  }, 120_000);

  it('without IMAGE_DIGEST (an expired artifact), reads the digest of <image>:<commit> from the registry', async () => {
    writeFileSync(path.join(state, 'image'), digest(1));
    writeFileSync(
      path.join(bin, 'skopeo'),
      // login reads its stdin as the real skopeo does (an unread password can end the job's `printf |` by SIGPIPE).
      `#!/bin/sh\necho "skopeo $*" >>"$FAKE_STATE/calls"\n[ "$1" = login ] && cat >"$FAKE_STATE/skopeo-login-stdin"\n[ "$1" = inspect ] && echo "sha256:${'7'.repeat(64)}"\nexit 0\n`,
    );
    chmodSync(path.join(bin, 'skopeo'), 0o755);
    const result = await deploy({ ...kubernetes, 'image-repository': 'registry.example.com/shop' }, '', {
      CI_REGISTRY_PASSWORD: 'registry-secret-91d',
    });
    expect(result.code).toBe(0);
    expect(result.output).toContain('IMAGE_DIGEST is not set');
    const looked = `registry.example.com/shop/api@sha256:${'7'.repeat(64)}`;
    expect(image()).toBe(looked);
    expect(result.calls).toContainEqual(
      expect.stringMatching(
        /^skopeo inspect --tls-verify=true --format \{\{\.Digest\}\} docker:\/\/registry\.example\.com\/shop\/api:[0-9a-f]{40}$/,
      ),
    );
    // The password went through stdin only.
    expect(result.calls.join('\n')).not.toContain('registry-secret-91d');
    expect(readFileSync(path.join(state, 'skopeo-login-stdin'), 'utf8')).toBe('registry-secret-91d');
    expect(result.calls).toContainEqual(expect.stringContaining('skopeo login --tls-verify=true --username'));
  }, 120_000);
});
