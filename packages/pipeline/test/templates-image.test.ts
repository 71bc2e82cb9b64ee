// build.yml and release.yml for real: gitlab-ci-local's shell executor runs the buildah build and pushes to a
// docker-registry on loopback; the release then tags that exact digest with skopeo, without a rebuild.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { git, makeTempDir, removeDir } from './support/fixture-repository';
import { runGitlabCiLocal } from './support/gitlab-ci-local';
import { type LocalRegistry, skopeoInspect, startLocalRegistry } from './support/local-registry';
import { createImageRepo, freshContainersStorage } from './support/template-repository';

const REGISTRY_PASSWORD = 'registry-secret-5f1c';

// FROM scratch: nothing to pull, so the test needs no network; the build args reach the image as labels.
const DOCKERFILE = `FROM scratch
ARG APP
ARG APP_VERSION
COPY services/\${APP}/package.json /package.json
LABEL org.example.app-version="\${APP_VERSION}"
`;

describe('build.yml (buildah) and release.yml (skopeo) against a loopback registry', () => {
  let work: string;
  let repo: string;
  let registry: LocalRegistry;
  let storageConf: string;

  beforeAll(async () => {
    work = makeTempDir('image');
    registry = await startLocalRegistry(work);
    // buildah gets its own storage, so it never meets another build's storage driver on this machine.
    storageConf = freshContainersStorage(work, 'storage');
    repo = createImageRepo({
      registryHost: registry.host,
      version: '1.4.0',
      dockerfile: DOCKERFILE,
    });
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
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
    const bySha = skopeoInspect(`${image}:${head}`)!;
    expect(readFileSync(path.join(repo, 'slipway-build.env'), 'utf8')).toBe(
      `IMAGE_DIGEST=${image}@${bySha.Digest}\n`,
    );
    expect(skopeoInspect(`${image}:main`)?.Digest).toBe(bySha.Digest);
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
    const tested = skopeoInspect(`${image}:${git(repo, ['rev-parse', 'HEAD'])}`)!.Digest;

    const release = await runJob('api-release', { CI_COMMIT_TAG: 'v1.4.0' });
    expect(release.code).toBe(0);
    expect(release.stdout + release.stderr).not.toContain(REGISTRY_PASSWORD);
    expect(skopeoInspect(`${image}:v1.4.0`)?.Digest).toBe(tested);
    expect(skopeoInspect(`${image}:latest`)?.Digest).toBe(tested);
    expect(readFileSync(path.join(repo, 'slipway-release.env'), 'utf8')).toBe(
      `IMAGE_DIGEST=${image}@${tested}\n`,
    );

    // A prerelease gets its own tag; latest stays on the release.
    const prerelease = await runJob('api-release', { CI_COMMIT_TAG: 'v1.5.0-rc.1' });
    expect(prerelease.code).toBe(0);
    expect(prerelease.stdout).toContain('v1.5.0-rc.1 is a prerelease; latest stays where it is');
    expect(skopeoInspect(`${image}:v1.5.0-rc.1`)?.Digest).toBe(tested);
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
