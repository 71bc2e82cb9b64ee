// The templates against this machine's Docker engine (skipped when none answers; scripts/docker-engine.sh start):
// - build.yml's docker builder with a docker-registry on loopback, run by gitlab-ci-local's shell executor; the
//   engine plays the job's docker:dind service (its DOCKER_HOST and TLS variables are overridden). `npm run e2e`
//   runs it with docker:dind for real.
// - release.yml's job in the skopeo image with gitlab-ci-local's docker executor, as a Docker-based runner runs it
//   (needs the stand-in images: node docker/stand-ins/build-stand-ins.mjs skopeo gitlab-ci-local-util).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { unusedLoopbackUrl } from './support/fake-deployment';
import { git, makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, GITLAB_CI_LOCAL, runGitlabCiLocal } from './support/gitlab-ci-local';

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
      if ((await fetch(`http://${host}/v2/`)).ok) return { host, process: registry };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  registry.kill();
  throw new Error('docker-registry did not start');
}

function registryDigest(reference: string): string {
  return execFileSync(
    'skopeo',
    ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${reference}`],
    { encoding: 'utf8' },
  ).trim();
}

const engine = engineAnswers();
if (!engine) {
  process.stderr.write(
    'templates-docker-builder: SKIPPED, no Docker engine answers (scripts/docker-engine.sh start)\n',
  );
}

(engine ? describe : describe.skip)('build.yml (docker builder) against the Docker engine', () => {
  let work: string;
  let repo: string;
  let registry: { host: string; process: ChildProcess };
  let image: string;

  beforeAll(async () => {
    work = makeTempDir('docker-builder');
    registry = await startRegistry(work);
    image = `${registry.host}/shop/api`;
    repo = createGitRepo({
      'services/api/package.json': JSON.stringify({ name: 'api', version: '1.4.0' }, null, 2),
      'fixture/Dockerfile': DOCKERFILE,
      '.gitlab-ci.yml': stringify({
        stages: ['build'],
        include: [
          {
            local: 'ci-templates/build.yml',
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
      }),
      'ci-templates/build.yml': readFileSync(path.join(REPOSITORY_ROOT, 'ci-templates/build.yml'), 'utf8'),
    });
  }, 60_000);

  afterAll(() => {
    registry?.process.kill();
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
    const pushed = registryDigest(`${image}:${head}`);
    // The cache really was pushed, so RepoDigests held both repositories.
    expect(registryDigest(`${image}/cache:main`)).toBe(pushed);
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
    repo = createGitRepo({
      '.gitlab-ci.yml': stringify({
        stages: ['build'],
        include: [{ local: 'ci-templates/release.yml', inputs: { 'job-prefix': 'api', 'app-name': 'api' } }],
      }),
      'ci-templates/release.yml': readFileSync(
        path.join(REPOSITORY_ROOT, 'ci-templates/release.yml'),
        'utf8',
      ),
    });
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
