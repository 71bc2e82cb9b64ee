#!/usr/bin/env node
// Builds the stand-in images (docker/stand-ins/stand-ins.json) into the running Docker engine, tagged with the real
// names the pipelines use, because nothing can be pulled from Docker Hub or quay.io here.
//
// Usage: node docker/stand-ins/build-stand-ins.mjs [--rebuild] [name ...]   (npm run docker:stand-ins -- ...)
//   No names: every stand-in. Names: those and the stand-ins they are built FROM.
//   --rebuild: ignore the cache (labels and the engine's layer cache) and build again from the base, e.g. to time
//   a cold build or to pick up Debian package updates.
// Output: one line per image as it is ready, "stand-ins: built|cached <name> (<tags>) in <s>s", then the total.
//   Independent images build side by side, SLIPWAY_STAND_IN_JOBS (default 3) at a time.
// Exit codes: 0 all present, 1 a build failed (the tail of its log is printed; the full log is kept in the cache).
//
// Cache: each image carries the label org.slipway.stand-in.inputs, a hash of everything that goes into it (its
// recipe folder, its manifest entry, its npm packages, its parent's hash, and the debootstrap base's content tag).
// An image whose label matches is not rebuilt. The base comes from docker/test/stand-in-base-image.sh, which keeps
// its own OCI archive in $SLIPWAY_CACHE_DIR (default /var/cache/slipway); npm packs are kept there too.
// Needs: the engine (scripts/docker-engine.sh start), root, buildah/skopeo/debootstrap for the base, npm.
import { createHash } from 'node:crypto';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot, run } from '../test/image-harness.mjs';

export const LABEL = 'org.slipway.stand-in.inputs';
// Debian's client, which has BuildKit; the first `docker` on PATH may be a static client without buildx.
export const DOCKER = '/usr/bin/docker';
// Bump when this script changes how an image is put together, so every stand-in is rebuilt once.
const RECIPE_FORMAT = '1';

const standInsDir = join(repoRoot, 'docker/stand-ins');
const cacheDir = process.env.SLIPWAY_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? '/var/cache', 'slipway');

/** The manifest: { npmPacks: {file: spec}, images: [{name, recipe, tags, parent, parentArg, npmPacks?, buildArgs?}] }. */
export function readManifest() {
  return JSON.parse(readFileSync(join(standInsDir, 'stand-ins.json'), 'utf8'));
}

function hashTree(hash, dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(hash, path);
    else
      hash
        .update(`${relative(standInsDir, path)}\0`)
        .update(readFileSync(path))
        .update('\0');
  }
}

async function imageLabel(ref) {
  try {
    const { stdout } = await run(DOCKER, [
      'image',
      'inspect',
      '--format',
      `{{index .Config.Labels "${LABEL}"}}`,
      ref,
    ]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The debootstrap base (buildah's store), copied into the engine when it is not there yet; returns its reference. */
async function ensureBase() {
  const { stdout } = await run('bash', [join(repoRoot, 'docker/test/stand-in-base-image.sh')], {
    stderrTo: process.stderr,
  });
  const ref = stdout.trim();
  const present = await run(DOCKER, ['image', 'inspect', ref]).then(
    () => true,
    () => false,
  );
  if (!present) await run('skopeo', ['copy', '--quiet', `containers-storage:${ref}`, `docker-daemon:${ref}`]);
  return ref;
}

async function ensureNpmPack(file, spec) {
  const dir = join(cacheDir, 'npm-packs');
  const path = join(dir, `${spec.replace(/[@/]/g, '_')}.tgz`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'slipway-npm-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work, spec], {
      cwd: work,
    });
    cpSync(join(work, stdout.trim().split('\n').pop()), path);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return path;
}

function selectImages(images, names) {
  if (names.length === 0) return images;
  const byName = new Map(images.map((image) => [image.name, image]));
  const wanted = new Set();
  const add = (name) => {
    const image = byName.get(name);
    if (!image) throw new Error(`no stand-in named "${name}"; known: ${[...byName.keys()].join(', ')}`);
    wanted.add(name);
    if (byName.has(image.parent)) add(image.parent);
  };
  names.forEach(add);
  return images.filter((image) => wanted.has(image.name));
}

async function buildImage(image, { parentRef, parentHash, packs, rebuild }) {
  const hash = createHash('sha256').update(`${RECIPE_FORMAT}\0${JSON.stringify(image)}\0${parentHash}\0`);
  hashTree(hash, join(standInsDir, image.recipe));
  for (const file of image.npmPacks ?? []) hash.update(`${file}\0`).update(readFileSync(packs[file]));
  const inputs = hash.digest('hex').slice(0, 24);

  const started = process.hrtime.bigint();
  const seconds = () => (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
  const labels = await Promise.all(image.tags.map(imageLabel));
  if (!rebuild && labels.every((label) => label === inputs)) {
    console.log(`stand-ins: cached ${image.name} (${image.tags.join(', ')}) in ${seconds()}s`);
    return inputs;
  }

  const context = mkdtempSync(join(tmpdir(), `slipway-stand-in-${image.name}-`));
  const logPath = join(cacheDir, `stand-in-${image.name}.log`);
  try {
    cpSync(join(standInsDir, image.recipe), context, { recursive: true });
    for (const file of image.npmPacks ?? []) cpSync(packs[file], join(context, file));
    const args = ['build', '--progress=plain', '--label', `${LABEL}=${inputs}`];
    if (rebuild) args.push('--no-cache');
    args.push('--build-arg', `${image.parentArg}=${parentRef}`);
    for (const [name, value] of Object.entries(image.buildArgs ?? {}))
      args.push('--build-arg', `${name}=${value}`);
    for (const tag of image.tags) args.push('--tag', tag);
    args.push(context);
    const log = createWriteStream(logPath);
    try {
      await run(DOCKER, args, { env: { ...process.env, DOCKER_BUILDKIT: '1' }, stderrTo: log });
    } catch (error) {
      throw new Error(`building stand-in ${image.name} failed (full log: ${logPath}):\n${error.message}`, {
        cause: error,
      });
    } finally {
      log.end();
    }
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  console.log(`stand-ins: built ${image.name} (${image.tags.join(', ')}) in ${seconds()}s`);
  return inputs;
}

/** Runs at most `max` of the tasks handed to the returned function at once. */
function limiter(max) {
  let active = 0;
  const queue = [];
  const next = () => {
    if (active >= max || queue.length === 0) return;
    active++;
    const { task, resolve, reject } = queue.shift();
    task()
      .then(resolve, reject)
      .finally(() => {
        active--;
        next();
      });
  };
  return (task) =>
    new Promise((resolve, reject) => {
      queue.push({ task, resolve, reject });
      next();
    });
}

/** Builds the named stand-ins (all when names is empty) and whatever they are built FROM. */
export async function buildStandIns(names = [], { rebuild = false } = {}) {
  const started = process.hrtime.bigint();
  const manifest = readManifest();
  const images = selectImages(manifest.images, names);
  mkdirSync(cacheDir, { recursive: true });

  const baseRef = await ensureBase();
  console.log(
    `stand-ins: base ${baseRef} ready in ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)}s`,
  );
  const packs = {};
  for (const file of new Set(images.flatMap((image) => image.npmPacks ?? []))) {
    packs[file] = await ensureNpmPack(file, manifest.npmPacks[file]);
  }
  // Each image waits for its parent; independent ones build side by side (apt downloads overlap), a few at a time.
  const limit = limiter(Number(process.env.SLIPWAY_STAND_IN_JOBS) || 3);
  const results = new Map([['base', Promise.resolve({ ref: baseRef, hash: baseRef })]]);
  for (const image of images) {
    const parentResult = results.get(image.parent);
    if (!parentResult)
      throw new Error(`stand-in ${image.name} needs ${image.parent}, which stand-ins.json lists later`);
    const result = parentResult.then((parent) =>
      limit(() => buildImage(image, { parentRef: parent.ref, parentHash: parent.hash, packs, rebuild })),
    );
    results.set(
      image.name,
      result.then((hash) => ({ ref: image.tags[0], hash })),
    );
  }
  const failures = (await Promise.allSettled(results.values())).filter(
    (outcome) => outcome.status === 'rejected',
  );
  // A failed parent fails its children with the same error; report it once.
  const messages = [...new Set(failures.map((failure) => failure.reason.message))];
  if (messages.length > 0) throw new Error(messages.join('\n'));
  // Images an earlier recipe built are untagged now; only those carrying our label are removed.
  await run(DOCKER, ['image', 'prune', '--force', '--filter', `label=${LABEL}`]).catch(() => {});
  const total = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
  console.log(`stand-ins: ${images.length} images ready in ${total}s`);
  return images;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const rebuild = args.includes('--rebuild');
  buildStandIns(
    args.filter((arg) => arg !== '--rebuild'),
    { rebuild },
  ).catch((error) => {
    console.error(`stand-ins: error: ${error.message}`);
    process.exit(1);
  });
}
