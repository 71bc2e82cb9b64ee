// build.yml and release.yml by content key, for real: gitlab-ci-local's shell executor runs buildah against
// Debian's docker-registry on loopback. Build once per content, reuse the digest (and say which commit built it),
// release the content's digest, and two builds of one commit in fresh storage give one digest.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { git, makeTempDir, removeDir } from './support/fixture-repository';
import { runGitlabCiLocal } from './support/gitlab-ci-local';
import { type LocalRegistry, skopeoInspect, startLocalRegistry } from './support/local-registry';
import { createImageRepo, freshContainersStorage } from './support/template-repository';

// FROM scratch: nothing to pull. CONTENT_KEY reaches the image as a label, as docker/Dockerfile bakes it in.
const DOCKERFILE = `FROM scratch
ARG APP
ARG CONTENT_KEY=
COPY services/\${APP}/package.json /package.json
LABEL org.example.content-key="\${CONTENT_KEY}"
`;
const KEY = '0123456789abcdef';
const COMMIT_TIME = '2026-01-31T12:00:00Z';

describe('build.yml and release.yml by content key, against a loopback registry', () => {
  let work: string;
  let repo: string;
  let registry: LocalRegistry;
  let image: string;
  let storageCount = 0;

  beforeAll(async () => {
    work = makeTempDir('content-image');
    registry = await startLocalRegistry(work);
    image = `${registry.host}/shop/api`;
    repo = createImageRepo({
      registryHost: registry.host,
      version: '2.0.0',
      dockerfile: DOCKERFILE,
      buildInputs: { 'layer-cache': false },
    });
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    removeDir(repo);
    removeDir(work);
  });

  /** Each run gets containers-storage of its own: a fresh CI runner, with no layer to reuse. */
  function freshStorage(): string {
    storageCount += 1;
    return freshContainersStorage(work, `storage-${storageCount}`);
  }

  const runJob = async (job: string, variables: Record<string, string> = {}) => {
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', job],
      variables: { CI_COMMIT_TIMESTAMP: COMMIT_TIME, ...variables },
      env: { CONTAINERS_STORAGE_CONF: freshStorage() },
    });
    return { ...result, output: result.stdout + result.stderr };
  };

  const dotenv = (file: string) => readFileSync(path.join(repo, file), 'utf8');

  it('builds content that has no image, pushes :content-<key> and :<sha>, and carries the key', async () => {
    const first = git(repo, ['rev-parse', 'HEAD']);
    const started = process.hrtime.bigint();
    const result = await runJob('api-build', { SLIPWAY_CONTENT_KEY: KEY });
    console.log(
      `build job for new content (build and push): ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`,
    );

    expect(result.code).toBe(0);
    expect(result.output).toContain(`slipway: no image for content ${KEY} yet`);
    const byContent = skopeoInspect(`${image}:content-${KEY}`);
    expect(byContent?.Digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(skopeoInspect(`${image}:${first}`)?.Digest).toBe(byContent?.Digest);
    expect(byContent?.Labels).toMatchObject({
      'org.example.content-key': KEY,
      'org.opencontainers.image.revision': first,
      'org.opencontainers.image.created': COMMIT_TIME,
    });
    expect(dotenv('slipway-build.env')).toBe(
      `IMAGE_DIGEST=${image}@${byContent?.Digest}\nIMAGE_CONTENT_KEY=${KEY}\n`,
    );
  }, 240_000);

  it('reuses the digest for a later commit with the same content, names the commit that built it, builds nothing', async () => {
    const builtBy = git(repo, ['rev-parse', 'HEAD']);
    const digest = skopeoInspect(`${image}:content-${KEY}`)?.Digest;
    writeFileSync(path.join(repo, 'README.md'), 'docs only\n');
    git(repo, ['add', 'README.md']);
    git(repo, ['commit', '--quiet', '--no-verify', '-m', 'docs: words']);
    const later = git(repo, ['rev-parse', 'HEAD']);

    const started = process.hrtime.bigint();
    const result = await runJob('api-build', { SLIPWAY_CONTENT_KEY: KEY });
    // A figure, never asserted: the whole gitlab-ci-local job, most of it gitlab-ci-local's own start-up.
    console.log(
      `build job for unchanged content (lookup only, no build): ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`,
    );

    expect(result.code).toBe(0);
    expect(result.output).toContain(
      `slipway: reusing ${image}@${digest}: content ${KEY} was built by commit ${builtBy}; no build`,
    );
    expect(result.output).not.toContain('STEP 1/');
    expect(skopeoInspect(`${image}:${later}`)).toBeUndefined();
    expect(dotenv('slipway-build.env')).toBe(`IMAGE_DIGEST=${image}@${digest}\nIMAGE_CONTENT_KEY=${KEY}\n`);
  }, 240_000);

  it('(e) a re-run gives the same digest: the content is looked up, not rebuilt', async () => {
    const digest = skopeoInspect(`${image}:content-${KEY}`)?.Digest;
    const again = await runJob('api-build', { SLIPWAY_CONTENT_KEY: KEY });
    expect(again.code).toBe(0);
    expect(dotenv('slipway-build.env')).toContain(`IMAGE_DIGEST=${image}@${digest}\n`);
    expect(skopeoInspect(`${image}:content-${KEY}`)?.Digest).toBe(digest);
  }, 240_000);

  it('(a) releases a tag by its content key: the digest staging verified goes to vX.Y.Z and latest', async () => {
    const digest = skopeoInspect(`${image}:content-${KEY}`)?.Digest;
    const result = await runJob('api-release', { CI_COMMIT_TAG: 'v2.0.0', SLIPWAY_CONTENT_KEY: KEY });

    expect(result.code).toBe(0);
    expect(result.output).toMatch(
      new RegExp(`slipway: releasing ${image}:content-${KEY} \\(${digest}\\), built by commit [0-9a-f]{40}`),
    );
    expect(skopeoInspect(`${image}:v2.0.0`)?.Digest).toBe(digest);
    expect(skopeoInspect(`${image}:latest`)?.Digest).toBe(digest);
    expect(dotenv('slipway-release.env')).toBe(`IMAGE_DIGEST=${image}@${digest}\nIMAGE_CONTENT_KEY=${KEY}\n`);
  }, 240_000);

  it('refuses a malformed SLIPWAY_CONTENT_KEY before touching the registry', async () => {
    const build = await runJob('api-build', { SLIPWAY_CONTENT_KEY: 'x; touch pwned' });
    expect(build.code).not.toBe(0);
    expect(build.output).toContain('SLIPWAY_CONTENT_KEY must be 16 to 64 lowercase hex digits');
  }, 240_000);

  it('is reproducible: two builds of one commit in fresh storage push one digest', async () => {
    const head = git(repo, ['rev-parse', 'HEAD']);
    // buildah before 1.41 writes a random hostname and build-container id into docker-format configs even with
    // --timestamp (fixed by containers/buildah#6211, in the pinned v1.41.5 image). Debian's buildah is older, so
    // here the OCI format, which has neither field, shows that the template's timestamps are what they must be.
    const [major, minor] = /buildah version (\d+)\.(\d+)/
      .exec(execFileSync('buildah', ['--version'], { encoding: 'utf8' }))!
      .slice(1)
      .map(Number);
    const format: Record<string, string> = major! > 1 || minor! >= 41 ? {} : { BUILDAH_FORMAT: 'oci' };
    const digests: string[] = [];
    for (const run of [1, 2]) {
      const result = await runJob('api-build', format);
      expect(result.code).toBe(0);
      digests.push(skopeoInspect(`${image}:${head}`)!.Digest);
      console.log(
        `build ${run} of ${head.slice(0, 12)} in fresh storage (${format.BUILDAH_FORMAT ?? 'docker'} format): ${digests.at(-1)}`,
      );
    }
    expect(digests[1]).toBe(digests[0]);
  }, 480_000);
});
