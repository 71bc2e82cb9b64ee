// The templates against this machine's Docker engine (skipped when none answers; scripts/docker-engine.sh start):
// - build.yml's docker builder with a docker-registry on loopback, run by gitlab-ci-local's shell executor; the
//   engine plays the job's docker:dind service (its DOCKER_HOST and TLS variables are overridden). `npm run e2e`
//   runs it with docker:dind for real.
// - release.yml's job in the skopeo image with gitlab-ci-local's docker executor, as a Docker-based runner runs it
//   (needs the stand-in images: node docker/stand-ins/build-stand-ins.mjs skopeo gitlab-ci-local-util).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { git, makeTempDir, removeDir } from './support/fixture-repository';
import { GITLAB_CI_LOCAL, runGitlabCiLocal } from './support/gitlab-ci-local';
import { type LocalRegistry, skopeoInspect, startLocalRegistry } from './support/local-registry';
import { createTemplateRepo } from './support/template-repository';

// Debian's client: the first `docker` on PATH may be a static client without buildx (see issue 9).
const DOCKER = '/usr/bin/docker';

function engineAnswers(): boolean {
  try {
    execFileSync(DOCKER, ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const DOCKERFILE = `FROM scratch
ARG APP
COPY services/\${APP}/package.json /package.json
`;

const engine = engineAnswers();
if (!engine) {
  process.stderr.write(
    'templates-docker-builder: SKIPPED, no Docker engine answers (scripts/docker-engine.sh start)\n',
  );
}

(engine ? describe : describe.skip)('build.yml (docker builder) against the Docker engine', () => {
  let work: string;
  let repo: string;
  let registry: LocalRegistry;
  let image: string;

  beforeAll(async () => {
    work = makeTempDir('docker-builder');
    registry = await startLocalRegistry(work);
    image = `${registry.host}/shop/api`;
    repo = createTemplateRepo(
      ['build'],
      [
        {
          template: 'build',
          inputs: {
            'job-prefix': 'api',
            'app-name': 'api',
            'app-path': 'services/api',
            'image-repository': `${registry.host}/shop`,
            registry: registry.host,
            builder: 'docker',
            'layer-cache': true,
            dockerfile: 'fixture/Dockerfile',
          },
        },
      ],
      {
        'services/api/package.json': JSON.stringify({ name: 'api', version: '1.4.0' }, null, 2),
        'fixture/Dockerfile': DOCKERFILE,
      },
    );
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    if (image) {
      const tags = execFileSync(DOCKER, ['images', '--format', '{{.Repository}}:{{.Tag}}'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter((tag) => tag.startsWith(`${image}`));
      if (tags.length > 0) execFileSync(DOCKER, ['rmi', '--force', ...tags], { stdio: 'ignore' });
    }
    removeDir(repo);
    removeDir(work);
  });

  // With layer-cache the same image is pushed to <image>/cache too, and the engine sorts RepoDigests, so
  // <image>/cache@sha256:... comes first; IMAGE_DIGEST must still name <image>.
  it('exports IMAGE_DIGEST of the app repository, not of its layer cache', async () => {
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', 'api-build'],
      // The engine plays the docker:dind service: pipeline variables outrank the job's DOCKER_* variables.
      variables: { DOCKER_HOST: 'unix:///var/run/docker.sock', DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' },
      // The repository's Node 24 for gitlab-ci-local first, then Debian's docker client.
      env: {
        PATH: [path.dirname(GITLAB_CI_LOCAL), path.dirname(DOCKER), process.env.PATH ?? ''].join(
          path.delimiter,
        ),
      },
    });
    const output = result.stdout + result.stderr;
    if (result.code !== 0) throw new Error(`api-build failed:\n${output.split('\n').slice(-40).join('\n')}`);

    const head = git(repo, ['rev-parse', 'HEAD']);
    const pushed = skopeoInspect(`${image}:${head}`)!.Digest;
    // The cache really was pushed, so RepoDigests held both repositories.
    expect(skopeoInspect(`${image}/cache:main`)?.Digest).toBe(pushed);
    expect(readFileSync(path.join(repo, 'slipway-build.env'), 'utf8')).toBe(
      `IMAGE_DIGEST=${image}@${pushed}\n`,
    );
  }, 240_000);
});

const SKOPEO_IMAGE = 'quay.io/skopeo/stable:v1.20.0';
const HELPER_IMAGE = 'docker.io/firecow/gitlab-ci-local-util:latest';

function imagePresent(image: string): boolean {
  try {
    execFileSync(DOCKER, ['image', 'inspect', image], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const releaseImages = engine && [SKOPEO_IMAGE, HELPER_IMAGE].every(imagePresent);
if (engine && !releaseImages) {
  process.stderr.write(
    `templates-docker-engine: release test SKIPPED, ${SKOPEO_IMAGE} or ${HELPER_IMAGE} is not in the engine ` +
      '(node docker/stand-ins/build-stand-ins.mjs skopeo gitlab-ci-local-util)\n',
  );
}

(releaseImages ? describe : describe.skip)('release.yml in the skopeo image (docker executor)', () => {
  let repo: string;

  beforeAll(() => {
    repo = createTemplateRepo(
      ['build'],
      [{ template: 'release', inputs: { 'job-prefix': 'api', 'app-name': 'api' } }],
    );
  });

  afterAll(() => removeDir(repo));

  // The image's ENTRYPOINT is skopeo: unless the job clears it, the runner's shell script goes to skopeo
  // ("unknown shorthand flag: 'c' in -c") and the release script never runs.
  it("runs the job's script, not the image's skopeo entrypoint", async () => {
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: [
        '--shell-executor-no-image=false',
        '--container-executable',
        DOCKER,
        '--helper-image',
        HELPER_IMAGE,
        'api-release',
      ],
      // No registry answers: the script's first step fails, with its own message, after it has started.
      variables: {
        CI_COMMIT_TAG: 'v1.4.0',
        CI_REGISTRY: 'registry.slipway.invalid',
        CI_REGISTRY_IMAGE: 'registry.slipway.invalid/shop',
      },
    });
    const output = result.stdout + result.stderr;
    expect(output).toMatch(/api-release +starting quay\.io\/skopeo\/stable:v1\.20\.0/);
    expect(output).toContain('slipway: there is no image registry.slipway.invalid/shop/api:');
    expect(output).not.toContain('unknown shorthand flag');
  }, 240_000);
});
