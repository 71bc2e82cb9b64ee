// The stand-in images (docker/stand-ins): each carries exactly the real image's name, its ENTRYPOINT, CMD, USER,
// WORKDIR and ENV as its published Dockerfile or Containerfile sets them, and the tools the jobs call really work in
// it. Run: npm run test:stand-ins (needs the engine: npm run docker:engine -- start). The stand-ins are built first
// (or found in the cache), so a cold run includes their build.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildStandIns, DOCKER, inputsHash, readManifest } from '../stand-ins/build-stand-ins.mjs';
import { createCleanupStack, repoRoot, run } from './image-harness.mjs';

const cleanup = createCleanupStack();
const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
const docker = (...args) => run(DOCKER, args);
const dockerFails = (...args) =>
  run(DOCKER, args).then(
    (result) => assert.fail(`docker ${args.join(' ')} was expected to fail but printed:\n${result.stdout}`),
    (error) => error.result ?? { stdout: '', stderr: error.message },
  );

async function inspectConfig(image) {
  const { stdout } = await docker('image', 'inspect', '--format', '{{json .Config}}', image);
  return JSON.parse(stdout);
}

async function newNetwork(name) {
  const network = `slipway-stand-ins-${name}-${suffix}`;
  await docker('network', 'create', network);
  cleanup.defer(`remove network ${network}`, () => docker('network', 'rm', network));
  return network;
}

/** Starts a detached container (removed with its anonymous volumes at the end); returns its name. */
async function startContainer(name, args) {
  const container = `slipway-stand-ins-${name}-${suffix}`;
  await docker('run', '--detach', '--name', container, ...args);
  cleanup.defer(`remove container ${container}`, () => docker('rm', '--force', '--volumes', container));
  return container;
}

async function retry(description, attempt, { tries = 60, delayMs = 500 } = {}) {
  let lastError;
  for (let i = 0; i < tries; i++) {
    try {
      return await attempt();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  throw new Error(`${description} did not succeed: ${lastError?.message}`);
}

const envOf = (config) =>
  Object.fromEntries((config.Env ?? []).map((line) => line.split(/=(.*)/s).slice(0, 2)));
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// docker-library/postgres 15/bookworm/Dockerfile, for both postgres tags the pipelines use.
const POSTGRES_15 = {
  entrypoint: ['docker-entrypoint.sh'],
  cmd: ['postgres'],
  env: {
    PATH: `${DEFAULT_PATH}:/usr/lib/postgresql/15/bin`,
    PG_MAJOR: '15',
    PGDATA: '/var/lib/postgresql/data',
    LANG: 'en_US.utf8',
  },
  volumes: ['/var/lib/postgresql/data'],
  ports: ['5432/tcp'],
  stopSignal: 'SIGINT',
};

// What each published recipe sets, read from the files each stand-in's Dockerfile names. `cmd: null` means the image
// has none (setting ENTRYPOINT clears an inherited CMD); WorkingDir "" and "/" both mean the root directory.
const expectedConfigs = {
  // nodejs/docker-node 24/bookworm{,-slim}/Dockerfile
  'node:24.11.1-bookworm': {
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
    env: { PATH: DEFAULT_PATH, NODE_VERSION: '24.11.1', YARN_VERSION: '1.22.22' },
  },
  'node:24.11.1-bookworm-slim': {
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['node'],
    env: { PATH: DEFAULT_PATH, NODE_VERSION: '24.11.1', YARN_VERSION: '1.22.22' },
  },
  // containers/image_build buildah/Containerfile (CMD from the base image: a bash shell)
  'quay.io/buildah/stable:v1.41.5': {
    entrypoint: null,
    cmd: ['bash'],
    env: { BUILDAH_ISOLATION: 'chroot' },
    volumes: ['/home/build/.local/share/containers', '/var/lib/containers'],
  },
  // containers/image_build skopeo/Containerfile
  'quay.io/skopeo/stable:v1.20.0': {
    entrypoint: ['/usr/bin/skopeo'],
    cmd: null,
    env: { REGISTRY_AUTH_FILE: '/tmp/auth.json' },
  },
  // docker-library/docker 28/cli/Dockerfile
  'docker:28.5.2-cli': {
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['sh'],
    env: { DOCKER_TLS_CERTDIR: '/certs' },
  },
  // docker-library/docker 28/dind/Dockerfile
  'docker:28.5.2-dind': {
    entrypoint: ['dockerd-entrypoint.sh'],
    cmd: null,
    env: { DOCKER_TLS_CERTDIR: '/certs', DIND_COMMIT: '8d9e3502aba39127e4d12196dae16d306f76993d' },
    volumes: ['/var/lib/docker'],
    ports: ['2375/tcp', '2376/tcp'],
  },
  // One image under both tags: the integration job's service (saved-cities) pins the patch release.
  'postgres:15': POSTGRES_15,
  'postgres:15.14': POSTGRES_15,
  // docker-library/busybox latest-1/glibc/amd64/image-config.json
  'busybox:1.37.0': { entrypoint: null, cmd: ['sh'], env: { PATH: DEFAULT_PATH } },
  // alpine-docker/k8s Dockerfile (CMD from alpine)
  'alpine/k8s:1.34.1': { entrypoint: null, cmd: ['/bin/sh'], workingDir: '/apps' },
  // firecow/gitlab-ci-local Dockerfile (CMD from debian)
  'docker.io/firecow/gitlab-ci-local-util:latest': { entrypoint: null, cmd: ['bash'] },
  // gitlab-ci-local src/job.ts runs `<image> <alias>:<port> -t <seconds>`: the script is the entrypoint
  'docker.io/sumina46/wait-for-it:latest': { entrypoint: ['/wait-for-it.sh'], cmd: null },
  // docker/stand-ins/deploy-host/Dockerfile (our own deploy host)
  'localhost/slipway/deploy-host:latest': {
    entrypoint: ['deploy-host-entrypoint.sh'],
    cmd: null,
    ports: ['22/tcp'],
  },
};

before(async () => {
  await docker('info', '--format', '{{.ServerVersion}}').catch(() => {
    throw new Error('the Docker engine does not answer: start it with `npm run docker:engine -- start`');
  });
  await buildStandIns();
});

after(() => cleanup.runAll());

describe('the stand-ins cover every image the pipelines use by default', () => {
  const standInTags = readManifest().images.flatMap((image) => image.tags);

  function collectImages(node, found) {
    if (Array.isArray(node)) node.forEach((item) => collectImages(item, found));
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'image' && typeof value === 'string') found.add(value);
        else if (key === 'image' && value?.name) found.add(value.name);
        else if (/(^|-)services$/.test(key) && Array.isArray(value)) {
          // `services:` of a job, or a template's `*-services` input: each a name or {name, alias, ...}.
          for (const service of value) found.add(typeof service === 'string' ? service : service?.name);
        } else collectImages(value, found);
      }
    }
    return found;
  }

  test('every default image of the templates, the parent pipeline and the child pipeline', () => {
    const used = new Set();
    const templatesDir = join(repoRoot, 'ci-templates');
    for (const file of readdirSync(templatesDir).filter((name) => name.endsWith('.yml'))) {
      const [header] = parseAllDocuments(readFileSync(join(templatesDir, file), 'utf8'));
      for (const [name, input] of Object.entries(header.toJS()?.spec?.inputs ?? {})) {
        // Inputs named image or *-image hold job images; a default that is a variable (CI_REGISTRY_IMAGE) is not one.
        if (
          /(^|-)image$/.test(name) &&
          typeof input?.default === 'string' &&
          !input.default.startsWith('$')
        ) {
          used.add(input.default);
        }
      }
    }
    // The parent pipeline and every app pipeline (their jobs' images, and the services they pass to templates).
    const pipelines = [
      '.gitlab-ci.yml',
      ...readdirSync(join(repoRoot, 'apps')).map((app) => `apps/${app}/.gitlab-ci.yml`),
    ].filter((file) => existsSync(join(repoRoot, file)));
    assert.ok(pipelines.length >= 3, `found only ${pipelines.join(', ')}`);
    for (const doc of pipelines.flatMap((file) =>
      parseAllDocuments(readFileSync(join(repoRoot, file), 'utf8')),
    )) {
      collectImages(doc.toJS(), used).forEach((image) => image.startsWith('$') && used.delete(image));
    }
    const childPipeline = readFileSync(
      join(repoRoot, 'packages/pipeline/src/plan/render-child-pipeline.ts'),
      'utf8',
    );
    const noOpImage = /const NO_OP_IMAGE = '([^']+)'/.exec(childPipeline)?.[1];
    assert.ok(noOpImage, 'render-child-pipeline.ts no longer declares NO_OP_IMAGE; update this test');
    used.add(noOpImage);
    // The integration job's database service (seed 000) and gitlab-ci-local's two helper images.
    for (const image of [
      'postgres:15',
      'docker.io/firecow/gitlab-ci-local-util:latest',
      'docker.io/sumina46/wait-for-it:latest',
    ]) {
      used.add(image);
    }
    // Trivy cannot be had here: its job is switched off with its kill switch instead of faking the tool.
    const missing = [...used].filter(
      (image) => !standInTags.includes(image) && !image.startsWith('aquasec/trivy'),
    );
    assert.deepEqual(missing, [], `images without a stand-in: ${missing.join(', ')}`);
    assert.ok(used.size >= 10, `found only ${[...used].join(', ')}`);
  });

  test('each tagged stand-in has an expected configuration in this test', () => {
    assert.deepEqual(
      standInTags.filter((tag) => !tag.startsWith('localhost/slipway/debian')).sort(),
      Object.keys(expectedConfigs).sort(),
    );
  });
});

describe('the build cache', () => {
  test('an image is rebuilt exactly when a recipe file, its manifest entry, its parent or an npm pack changes', () => {
    const recipesDir = mkdtempSync(join(tmpdir(), 'slipway-stand-in-recipes-'));
    try {
      const image = readManifest().images.find((candidate) => candidate.name === 'node-slim');
      cpSync(join(repoRoot, 'docker/stand-ins', image.recipe), join(recipesDir, image.recipe), {
        recursive: true,
      });
      for (const file of image.npmPacks) appendFileSync(join(recipesDir, file), `tarball ${file}`);
      const packs = Object.fromEntries(image.npmPacks.map((file) => [file, join(recipesDir, file)]));
      const key = (overrides = {}) =>
        inputsHash(overrides.image ?? image, {
          parentHash: overrides.parentHash ?? 'parent-1',
          packs,
          recipesDir,
        });

      const before = key();
      assert.match(before, /^[0-9a-f]{24}$/);
      assert.equal(key(), before, 'the same inputs give the same key');
      assert.notEqual(key({ parentHash: 'parent-2' }), before, 'a rebuilt parent');
      assert.notEqual(
        key({ image: { ...image, buildArgs: { BUILDPACK_DEPS: 'git' } } }),
        before,
        'a build argument',
      );
      assert.notEqual(key({ image: { ...image, tags: ['node:other'] } }), before, 'a tag');
      appendFileSync(join(recipesDir, image.recipe, 'Dockerfile'), '\n# changed\n');
      const afterRecipe = key();
      assert.notEqual(afterRecipe, before, 'a changed Dockerfile');
      appendFileSync(join(recipesDir, image.npmPacks[0]), 'another version');
      assert.notEqual(key(), afterRecipe, 'a changed npm pack');
    } finally {
      rmSync(recipesDir, { recursive: true, force: true });
    }
  });
});

describe('each stand-in has the real image configuration', () => {
  for (const [image, expected] of Object.entries(expectedConfigs)) {
    test(image, async () => {
      const config = await inspectConfig(image);
      assert.deepEqual(config.Entrypoint ?? null, expected.entrypoint, 'ENTRYPOINT');
      assert.deepEqual(config.Cmd?.length ? config.Cmd : null, expected.cmd, 'CMD');
      assert.equal(config.User ?? '', expected.user ?? '', 'USER');
      assert.equal(config.WorkingDir || '/', expected.workingDir ?? '/', 'WORKDIR');
      const env = envOf(config);
      for (const [name, value] of Object.entries(expected.env ?? {}))
        assert.equal(env[name], value, `ENV ${name}`);
      assert.deepEqual(Object.keys(config.Volumes ?? {}).sort(), expected.volumes ?? [], 'VOLUME');
      assert.deepEqual(Object.keys(config.ExposedPorts ?? {}).sort(), expected.ports ?? [], 'EXPOSE');
      assert.equal(config.StopSignal ?? undefined, expected.stopSignal, 'STOPSIGNAL');
    });
  }
});

describe('the tools the jobs call work in the stand-ins', () => {
  for (const image of ['node:24.11.1-bookworm', 'node:24.11.1-bookworm-slim']) {
    test(`${image}: Node 24.11.1 and npm run, and the entrypoint hands flags to node`, async () => {
      const versions = await docker(
        'run',
        '--rm',
        image,
        'sh',
        '-c',
        'node --version && npm --version && id node',
      );
      assert.match(versions.stdout, /^v24\.11\.1\n11\.6\.2\nuid=1000\(node\) gid=1000\(node\)/);
      // docker-entrypoint.sh prepends `node` when the first argument is a flag.
      const evaluated = await docker('run', '--rm', image, '-e', 'console.log(process.versions.node)');
      assert.equal(evaluated.stdout.trim(), '24.11.1');
    });
  }

  test('node:24.11.1-bookworm has the buildpack-deps tools (git, ssh, a C++ compiler, make)', async () => {
    const { stdout } = await docker(
      'run',
      '--rm',
      'node:24.11.1-bookworm',
      'sh',
      '-c',
      'git --version && ssh -V 2>&1 && g++ --version && make --version',
    );
    assert.match(stdout, /git version/);
    assert.match(stdout, /OpenSSH/);
    assert.match(stdout, /g\+\+/);
  });

  test('quay.io/skopeo/stable: skopeo is the entrypoint, so a job script needs entrypoint [""]', async () => {
    const version = await docker('run', '--rm', 'quay.io/skopeo/stable:v1.20.0', '--version');
    assert.match(version.stdout, /^skopeo version \d/);
    // What a Docker runner does with a job that keeps the entrypoint: its shell script goes to skopeo.
    const handedToSkopeo = await dockerFails(
      'run',
      '--rm',
      'quay.io/skopeo/stable:v1.20.0',
      'sh',
      '-c',
      'echo job-ran',
    );
    assert.doesNotMatch(handedToSkopeo.stdout, /job-ran/);
    const cleared = await docker(
      'run',
      '--rm',
      '--entrypoint',
      '',
      'quay.io/skopeo/stable:v1.20.0',
      'sh',
      '-c',
      'echo job-ran && skopeo --version',
    );
    assert.match(cleared.stdout, /job-ran\nskopeo version/);
  });

  test('quay.io/buildah/stable: buildah builds an image with chroot isolation and vfs storage', async () => {
    // As the build template runs it: STORAGE_DRIVER=vfs, BUILDAH_ISOLATION=chroot from the image.
    const script = [
      'set -e',
      'mkdir /tmp/context && cd /tmp/context',
      'printf "FROM scratch\\nCOPY hello.txt /hello.txt\\n" > Containerfile',
      'echo hello-from-buildah > hello.txt',
      'buildah bud --quiet --tag localhost/tiny:1 .',
      'container=$(buildah from localhost/tiny:1)',
      'cat "$(buildah mount "$container")/hello.txt"',
      'echo "isolation=$BUILDAH_ISOLATION"',
    ].join('\n');
    const buildah = (...options) =>
      docker(
        'run',
        '--rm',
        ...options,
        '--env',
        'STORAGE_DRIVER=vfs',
        'quay.io/buildah/stable:v1.41.5',
        'sh',
        '-c',
        script,
      );
    // Docker's default seccomp profile refuses the user namespace buildah wants, as with the real image: GitLab's
    // runner then needs `privileged = true` or `security_opt = ["seccomp:unconfined", "apparmor:unconfined"]`
    // (gitlab-org/gitlab#574252, "Error during unshare(CLONE_NEWUSER): Operation not permitted").
    const confined = await buildah().then(
      (result) => result,
      (error) => error.result,
    );
    assert.match(confined.stdout + confined.stderr, /unshare\(CLONE_NEWUSER\): Operation not permitted/);
    const { stdout } = await buildah(
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'apparmor=unconfined',
    );
    assert.match(stdout, /hello-from-buildah\nisolation=chroot/);
  });

  test('docker:28.5.2-dind serves TLS on docker:2376 and the cli image uses it as GitLab documents', async () => {
    // https://docs.gitlab.com/ci/docker/docker_in_docker/ ("Use with Docker executor", TLS enabled):
    // the service is aliased `docker`, DOCKER_TLS_CERTDIR=/certs, and /certs/client is shared with the job.
    const network = await newNetwork('dind');
    const certs = `slipway-stand-ins-certs-${suffix}`;
    await docker('volume', 'create', certs);
    cleanup.defer(`remove volume ${certs}`, () => docker('volume', 'rm', certs));
    await startContainer('dind', [
      '--privileged',
      '--network',
      network,
      '--network-alias',
      'docker',
      '--env',
      'DOCKER_TLS_CERTDIR=/certs',
      '--volume',
      `${certs}:/certs/client`,
      'docker:28.5.2-dind',
    ]);
    const job = [
      'run',
      '--rm',
      '-i',
      '--network',
      network,
      '--env',
      'DOCKER_TLS_CERTDIR=/certs',
      '--volume',
      `${certs}:/certs/client:ro`,
      'docker:28.5.2-cli',
    ];
    const info = await retry('docker info against the dind service', () =>
      docker(
        ...job,
        'sh',
        '-c',
        'echo "$DOCKER_HOST $DOCKER_TLS_VERIFY $DOCKER_CERT_PATH" && docker info --format "{{.ServerVersion}}"',
      ),
    );
    // docker-entrypoint.sh derived the TLS settings from DOCKER_TLS_CERTDIR and the shared client certificates.
    assert.match(info.stdout, /^tcp:\/\/docker:2376 1 \/certs\/client\n\d+\.\d+/);
    // A container runs inside the nested engine (the image goes in over the same TLS connection).
    const { stdout: saved } = await run('sh', ['-c', `${DOCKER} save busybox:1.37.0 | base64 -w0`]);
    const nested = await run(
      DOCKER,
      [
        ...job,
        'sh',
        '-c',
        'base64 -d | docker load >/dev/null && docker run --rm busybox:1.37.0 echo nested-container-ran',
      ],
      { input: saved },
    );
    assert.equal(nested.stdout.trim(), 'nested-container-ran');
  });

  test('postgres:15 initialises with POSTGRES_* on first start and checks the password', async () => {
    const network = await newNetwork('postgres');
    const database = await startContainer('postgres', [
      '--network',
      network,
      '--env',
      'POSTGRES_PASSWORD=stand-in-secret',
      '--env',
      'POSTGRES_USER=app',
      '--env',
      'POSTGRES_DB=appdb',
      'postgres:15',
    ]);
    await retry('pg_isready', () =>
      docker(
        'run',
        '--rm',
        '--network',
        network,
        'postgres:15',
        'pg_isready',
        '--host',
        database,
        '--username',
        'app',
      ),
    );
    const psql = (password) => [
      'run',
      '--rm',
      '--network',
      network,
      '--env',
      `PGPASSWORD=${password}`,
      'postgres:15',
      'psql',
      '--host',
      database,
      '--username',
      'app',
      '--dbname',
      'appdb',
      '--tuples-only',
      '--no-align',
      '--command',
      "select current_user, current_database(), current_setting('server_version_num')",
    ];
    const { stdout } = await retry('psql with the password', () => docker(...psql('stand-in-secret')));
    assert.match(stdout.trim(), /^app\|appdb\|15\d{4}$/);
    const wrong = await dockerFails(...psql('wrong-password'));
    assert.match(wrong.stderr, /password authentication failed for user "app"/);
    // The entrypoint dropped to the postgres user; the server never runs as root.
    const { stdout: owner } = await docker(
      'exec',
      database,
      'sh',
      '-c',
      'ps -o user= -p 1 2>/dev/null || stat -c %U /proc/1',
    );
    assert.equal(owner.trim(), 'postgres');
  });

  test('the deploy host accepts an SSH key from the deploy image and runs docker compose against the engine', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'slipway-stand-ins-ssh-'));
    cleanup.defer(`remove ${keys}`, () => rmSync(keys, { recursive: true, force: true }));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stand-in-test', '-f', join(keys, 'id')]);
    const network = await newNetwork('deploy');
    const host = await startContainer('deploy-host', [
      '--network',
      network,
      '--volume',
      '/var/run/docker.sock:/var/run/docker.sock',
      '--env',
      `SSH_AUTHORIZED_KEYS=${readFileSync(join(keys, 'id.pub'), 'utf8').trim()}`,
      'localhost/slipway/deploy-host:latest',
    ]);
    const ssh = (key, command) => [
      'run',
      '--rm',
      '--network',
      network,
      '--volume',
      `${keys}:/keys:ro`,
      'alpine/k8s:1.34.1',
      'sh',
      '-c',
      `cp /keys/${key} /tmp/key && chmod 600 /tmp/key && ssh -i /tmp/key -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 root@${host} '${command}'`,
    ];
    const { stdout } = await retry(
      'ssh to the deploy host',
      () => docker(...ssh('id', 'docker compose version && docker info --format "{{.ServerVersion}}"')),
      { tries: 20 },
    );
    assert.match(stdout, /docker-compose version 1\.29\.\d/);
    assert.match(stdout, /\n\d+\.\d+\.\d+/);
    // Another key is refused, and passwords are off.
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'other')]);
    const refused = await dockerFails(...ssh('other', 'true'));
    assert.match(refused.stderr, /Permission denied \(publickey\)/);
  });

  test('busybox:1.37.0 runs a shell script, as the no-op child job does', async () => {
    const { stdout } = await docker(
      'run',
      '--rm',
      'busybox:1.37.0',
      'sh',
      '-c',
      'echo "No app is affected" && busybox | head -1',
    );
    assert.match(stdout, /^No app is affected\nBusyBox v1\.\d+/);
  });

  test("gitlab-ci-local's helper images: bash and rsync, and wait-for-it on a service port", async () => {
    const { stdout } = await docker(
      'run',
      '--rm',
      'docker.io/firecow/gitlab-ci-local-util:latest',
      'bash',
      '-c',
      'rsync --version | head -1',
    );
    assert.match(stdout, /^rsync\s+version 3\./);
    const network = await newNetwork('wait');
    const service = await startContainer('wait-service', [
      '--network',
      network,
      'busybox:1.37.0',
      'httpd',
      '-f',
      '-p',
      '8080',
    ]);
    await docker(
      'run',
      '--rm',
      '--network',
      network,
      'docker.io/sumina46/wait-for-it:latest',
      `${service}:8080`,
      '-t',
      '20',
    );
    const closed = await dockerFails(
      'run',
      '--rm',
      '--network',
      network,
      'docker.io/sumina46/wait-for-it:latest',
      `${service}:8081`,
      '-t',
      '1',
    );
    assert.match(closed.stdout + closed.stderr, /timeout occurred/);
  });
});
