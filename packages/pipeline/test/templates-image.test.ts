// build.yml and release.yml for real: gitlab-ci-local's shell executor runs the buildah build and pushes to a
// docker-registry on loopback; the release then tags that exact digest with skopeo, without a rebuild.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { unusedLoopbackUrl } from './support/fake-deployment';
import { git, makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, runGitlabCiLocal } from './support/gitlab-ci-local';

const REGISTRY_PASSWORD = 'registry-secret-5f1c';

// FROM scratch: nothing to pull, so the test needs no network; the build args reach the image as labels.
const DOCKERFILE = `FROM scratch
ARG APP
ARG APP_VERSION
COPY services/\${APP}/package.json /package.json
LABEL org.example.app-version="\${APP_VERSION}"
`;

async function startRegistry(workDir: string): Promise<{ host: string; process: ChildProcess }> {
  const host = new URL(await unusedLoopbackUrl()).host;
  const config = path.join(workDir, 'registry.yml');
  writeFileSync(
    config,
    stringify({
      version: 0.1,
      log: { level: 'warn' },
      storage: { filesystem: { rootdirectory: path.join(workDir, 'registry') } },
      http: { addr: host },
    }),
  );
  const registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      if (response.ok) return { host, process: registry };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  registry.kill();
  throw new Error('docker-registry did not start');
}

function skopeoInspect(reference: string): { Digest: string; Labels: Record<string, string> } {
  return JSON.parse(
    execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reference}`], { encoding: 'utf8' }),
  ) as { Digest: string; Labels: Record<string, string> };
}

describe('build.yml (buildah) and release.yml (skopeo) against a loopback registry', () => {
  let work: string;
  let repo: string;
  let registry: { host: string; process: ChildProcess };
  let storageConf: string;

  beforeAll(async () => {
    work = makeTempDir('image');
    registry = await startRegistry(work);
    // buildah gets its own storage, so it never meets another build's storage driver on this machine.
    storageConf = path.join(work, 'storage.conf');
    writeFileSync(
      storageConf,
      `[storage]\ndriver = "vfs"\ngraphroot = "${work}/storage"\nrunroot = "${work}/run"\n`,
    );
    const common = {
      'job-prefix': 'api',
      'app-name': 'api',
      'image-repository': `${registry.host}/shop`,
      registry: registry.host,
      'registry-tls-verify': false,
    };
    repo = createGitRepo({
      'services/api/package.json': JSON.stringify({ name: 'api', version: '1.4.0' }, null, 2),
      'fixture/Dockerfile': DOCKERFILE,
      '.gitlab-ci.yml': stringify({
        stages: ['build'],
        include: [
          {
            local: 'ci-templates/build.yml',
            inputs: { ...common, 'app-path': 'services/api', dockerfile: 'fixture/Dockerfile' },
          },
          { local: 'ci-templates/release.yml', inputs: common },
        ],
      }),
      ...Object.fromEntries(
        ['build.yml', 'release.yml'].map((file) => [
          `ci-templates/${file}`,
          readFileSync(path.join(REPOSITORY_ROOT, 'ci-templates', file), 'utf8'),
        ]),
      ),
    });
  }, 60_000);

  afterAll(() => {
    registry?.process.kill();
    removeDir(repo);
    removeDir(work);
  });

  const runJob = (job: string, variables: Record<string, string> = {}) =>
    runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', job],
      variables: { CI_REGISTRY_USER: 'ci', CI_REGISTRY_PASSWORD: REGISTRY_PASSWORD, ...variables },
      env: { CONTAINERS_STORAGE_CONF: storageConf },
    });

  it('builds, pushes both tags and exports the pushed digest as IMAGE_DIGEST', async () => {
    const result = await runJob('api-build');
    const output = result.stdout + result.stderr;
    expect(result.code).toBe(0);
    expect(output).not.toContain(REGISTRY_PASSWORD);

    const head = git(repo, ['rev-parse', 'HEAD']);
    const image = `${registry.host}/shop/api`;
    const bySha = skopeoInspect(`${image}:${head}`);
    expect(readFileSync(path.join(repo, 'slipway-build.env'), 'utf8')).toBe(
      `IMAGE_DIGEST=${image}@${bySha.Digest}\n`,
    );
    expect(skopeoInspect(`${image}:main`).Digest).toBe(bySha.Digest);
    expect(bySha.Labels).toMatchObject({
      'org.opencontainers.image.revision': head,
      'org.opencontainers.image.version': `1.4.0+${head.slice(0, 8)}`,
      'org.opencontainers.image.source': 'https://gitlab.slipway.invalid/slipway/consumer',
      'org.example.app-version': `1.4.0+${head.slice(0, 8)}`,
    });
    expect(bySha.Labels['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }, 240_000);

  it('releases a semver tag by copying the tested digest to vX.Y.Z and latest', async () => {
    const image = `${registry.host}/shop/api`;
    const tested = skopeoInspect(`${image}:${git(repo, ['rev-parse', 'HEAD'])}`).Digest;

    const release = await runJob('api-release', { CI_COMMIT_TAG: 'v1.4.0' });
    expect(release.code).toBe(0);
    expect(release.stdout + release.stderr).not.toContain(REGISTRY_PASSWORD);
    expect(skopeoInspect(`${image}:v1.4.0`).Digest).toBe(tested);
    expect(skopeoInspect(`${image}:latest`).Digest).toBe(tested);
    expect(readFileSync(path.join(repo, 'slipway-release.env'), 'utf8')).toBe(
      `IMAGE_DIGEST=${image}@${tested}\n`,
    );

    // A prerelease gets its own tag; latest stays on the release.
    const prerelease = await runJob('api-release', { CI_COMMIT_TAG: 'v1.5.0-rc.1' });
    expect(prerelease.code).toBe(0);
    expect(prerelease.stdout).toContain('v1.5.0-rc.1 is a prerelease; latest stays where it is');
    expect(skopeoInspect(`${image}:v1.5.0-rc.1`).Digest).toBe(tested);
  }, 240_000);

  it('refuses to release a commit that was never built, and says why', async () => {
    writeFileSync(path.join(repo, 'CHANGELOG.md'), 'unbuilt\n');
    git(repo, ['add', 'CHANGELOG.md']);
    git(repo, ['commit', '--quiet', '--no-verify', '-m', 'docs: unbuilt']);
    const result = await runJob('api-release', { CI_COMMIT_TAG: 'v1.6.0' });
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(
      `slipway: there is no image ${registry.host}/shop/api:${git(repo, ['rev-parse', 'HEAD'])} to release.`,
    );
  }, 240_000);
});
