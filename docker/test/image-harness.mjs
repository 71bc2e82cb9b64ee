// Helpers to build, run, inspect and publish the service images on a machine without a Docker engine:
// buildah (chroot isolation) builds and runs, skopeo copies, Debian's docker-registry stands in for a real registry.
// Used by image.test.mjs and reusable from any other script (each helper says what it cleans up).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs a command to completion; rejects with its exit code and the tail of its output when it fails. */
export function run(command, args, { cwd, env, input, stderrTo } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => {
      stderr.push(chunk);
      stderrTo?.write(chunk);
    });
    child.on('error', (error) => reject(new Error(`${command} could not start: ${error.message}`)));
    child.on('close', (code, signal) => {
      const result = {
        code,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      };
      if (code === 0) return resolvePromise(result);
      const tail = (result.stderr || result.stdout).trim().split('\n').slice(-25).join('\n');
      const error = new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${tail}`);
      reject(Object.assign(error, { result }));
    });
    child.stdin.end(input);
  });
}

/** Cleanup steps registered while a script runs; runAll() runs them newest first and never throws. */
export function createCleanupStack() {
  const steps = [];
  return {
    defer(description, step) {
      steps.push({ description, step });
    },
    async runAll() {
      while (steps.length > 0) {
        const { description, step } = steps.pop();
        try {
          await step();
        } catch (error) {
          console.error(`cleanup: ${description} failed: ${error.message}`);
        }
      }
    },
  };
}

/** Fails fast, with one clear message, when this machine cannot build or run images. */
export async function checkImageTooling() {
  if (process.getuid?.() !== 0) throw new Error('the image tests need root (buildah mounts and chroots)');
  for (const tool of ['buildah', 'skopeo', 'docker-registry', 'debootstrap', 'tar', 'git']) {
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is not installed: apt-get install buildah skopeo docker-registry debootstrap`);
    });
  }
}

/**
 * Copies the working tree (tracked and untracked-but-not-ignored files, as `git ls-files` sees them) into a new temp
 * directory, so builds and edits never touch the real checkout. Returns the directory; the caller removes it.
 */
export async function copyWorkingTree(destinationParent = tmpdir()) {
  const destination = mkdtempSync(join(destinationParent, 'slipway-image-context-'));
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
  });
  for (const path of stdout.split('\0').filter(Boolean)) {
    const source = join(repoRoot, path);
    if (!existsSync(source) && !isSymlink(source)) continue; // deleted in the working tree but still in the index
    mkdirSync(dirname(join(destination, path)), { recursive: true });
    cpSync(source, join(destination, path), { verbatimSymlinks: true, preserveTimestamps: true });
  }
  return destination;
}

function isSymlink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Builds (or reuses) the local stand-in for node:24-slim; returns its image reference. */
export async function ensureStandInBaseImage() {
  const { stdout } = await run(join(repoRoot, 'docker/test/stand-in-base-image.sh'), [], {
    stderrTo: process.stderr,
  });
  return stdout.trim();
}

/**
 * `buildah bud` with the flags a CI build of docker/Dockerfile needs as well: chroot isolation (no nested namespaces
 * inside CI containers), layer caching, and the docker manifest format (OCI image configs drop the HEALTHCHECK);
 * plus --pull=never, because the base image here is the local stand-in.
 * Returns the build log and its wall time. The id of every image the build created or reused is pushed onto
 * `imageIds` as soon as the build ends, failed or not, so the caller can remove them.
 */
export async function buildServiceImage({
  contextDir,
  tag,
  app,
  buildArgs = {},
  noCache = false,
  imageIds = [],
}) {
  const args = [
    'bud',
    '--isolation',
    'chroot',
    '--pull=never',
    '--layers',
    // A failed build otherwise leaves its working container behind, pinning its images.
    '--force-rm',
    '--format',
    'docker',
    ...(noCache ? ['--no-cache'] : []),
    '--file',
    'docker/Dockerfile',
    '--build-arg',
    `APP=${app}`,
    ...Object.entries(buildArgs).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
    '--tag',
    tag,
    '.',
  ];
  const startedAt = process.hrtime.bigint();
  let result;
  try {
    result = await run('buildah', args, { cwd: contextDir });
  } catch (error) {
    imageIds.push(...parseImageIds(`${error.result?.stdout}\n${error.result?.stderr}`));
    throw error;
  }
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const log = `${result.stdout}\n${result.stderr}`;
  imageIds.push(...parseImageIds(log));
  return { log, seconds, steps: parseBuildSteps(log) };
}

function parseImageIds(log) {
  return [...log.matchAll(/^--> (?:Using cache )?([0-9a-f]{11,64})$/gm)].map((match) => match[1]);
}

/**
 * Splits a buildah build log into its steps, each marked cached when buildah reused an existing layer for it.
 * Every step but FROM ends with a `--> <id>` line, preceded by `--> Using cache <id>` when it was cached. A
 * stage that a later `COPY --from` needs may be built right then, nested between that COPY's STEP line and its
 * result, so results belong to the most recent step still waiting for one, not simply to the last step printed.
 */
export function parseBuildSteps(log) {
  const steps = [];
  const waiting = [];
  for (const line of log.split('\n')) {
    const step =
      /^\[(\d+)\/(\d+)\] STEP (\d+)\/(\d+): (.*)$/.exec(line) ?? /^STEP (\d+)\/(\d+): (.*)$/.exec(line);
    if (step) {
      const parsed = { instruction: step.at(-1), cached: false };
      steps.push(parsed);
      if (!/^FROM\s/i.test(parsed.instruction)) waiting.push(parsed);
    } else if (line.startsWith('--> Using cache ')) {
      if (waiting.length > 0) waiting.at(-1).cached = true;
    } else if (/^--> [0-9a-f]{11,64}$/.test(line)) {
      waiting.pop();
    }
  }
  return steps;
}

/**
 * The image's manifest and Docker-format config (with Healthcheck and history) as stored locally; layer sizes here are
 * uncompressed.
 */
export async function inspectLocalImage(image) {
  const inspected = JSON.parse((await run('buildah', ['inspect', '--type', 'image', image])).stdout);
  return { manifest: JSON.parse(inspected.Manifest), config: inspected.Docker };
}

/** Removes images and build-cache layers by id or name, newest first, skipping any still in use. */
export async function removeImages(references) {
  for (const reference of [...new Set(references)].reverse()) {
    await run('buildah', ['rmi', reference]).catch(() => {});
  }
}

/**
 * Lists every entry of every layer of a local image, in layer order (whiteouts and all). With `searchFor`, each layer
 * also reports whether that string occurs in any of its files' contents.
 */
export async function listLayerEntries(image, workDir, { searchFor } = {}) {
  const layoutDir = mkdtempSync(join(workDir, 'layers-'));
  try {
    await run('skopeo', ['copy', '--quiet', `containers-storage:${image}`, `dir:${layoutDir}`]);
    const manifest = JSON.parse(readFileSync(join(layoutDir, 'manifest.json'), 'utf8'));
    const layers = [];
    for (const layer of manifest.layers) {
      const blob = join(layoutDir, layer.digest.replace(/^sha256:/, ''));
      const { stdout } = await run('tar', ['-tf', blob]);
      const entries = stdout.split('\n').filter(Boolean).map(toAbsolutePath);
      const contains = searchFor
        ? await run('sh', ['-c', 'tar -xOf "$1" | grep -q -F -e "$2"', 'sh', blob, searchFor]).then(
            () => true,
            () => false,
          )
        : undefined;
      layers.push({ digest: layer.digest, entries, contains });
    }
    return layers;
  } finally {
    rmSync(layoutDir, { recursive: true, force: true });
  }
}

function toAbsolutePath(entry) {
  return `/${entry.replace(/^\.?\//, '')}`.replace(/\/$/, '');
}

/** `git <args>` in cwd; its stdout, trimmed. Throws when git exits non-zero. */
export function git(cwd, args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** Commits everything in cwd's work tree as the e2e's author, without hooks; returns the new commit's SHA. */
export function commitAll(cwd, message) {
  git(cwd, ['add', '--all']);
  git(cwd, [
    '-c',
    'user.name=Slipway e2e',
    '-c',
    'user.email=e2e@slipway.invalid',
    'commit',
    '--quiet',
    '--no-verify',
    '-m',
    message,
  ]);
  return git(cwd, ['rev-parse', 'HEAD']);
}

/** Asks the kernel for a free loopback port. */
export function findFreePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

/** Polls until fn() resolves truthy; rejects with `what` in the message after timeoutMs. */
export async function waitFor(what, fn, { timeoutMs = 30_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolveDelay) => setTimeout(resolveDelay, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`,
  );
}

/**
 * Starts Debian's docker-registry on 127.0.0.1:<free port> with its own config and storage under stateDir.
 * Resolves once /v2/ answers. stop() ends the process; removing stateDir is the caller's job.
 */
export async function startLocalRegistry(stateDir) {
  const port = await findFreePort();
  const address = `127.0.0.1:${port}`;
  mkdirSync(join(stateDir, 'data'), { recursive: true });
  const configPath = join(stateDir, 'config.yml');
  writeFileSync(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(stateDir, 'data')}`,
      'http:',
      `  addr: ${address}`,
      '',
    ].join('\n'),
  );
  const registry = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  registry.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolveExit) =>
    registry.once('exit', (code, signal) => resolveExit(code ?? signal)),
  );
  const earlyExit = exited.then((status) => {
    throw new Error(`docker-registry exited (${status}) before it was ready:\n${stderr.trim()}`);
  });
  const ready = waitFor(
    `docker-registry on ${address}`,
    async () => (await fetch(`http://${address}/v2/`)).ok,
    {
      timeoutMs: 15_000,
    },
  );
  await Promise.race([ready, earlyExit]).catch((error) => {
    registry.kill('SIGKILL');
    throw error;
  });
  earlyExit.catch(() => {}); // a later exit is expected: stop() causes it
  return {
    address,
    async stop() {
      if (registry.exitCode === null && registry.signalCode === null) registry.kill('SIGTERM');
      await exited;
    },
  };
}

/** Pushes a local image to a plain-HTTP registry; returns the manifest digest the registry stored. */
export async function pushImage(image, destination, workDir) {
  const digestFile = join(
    workDir,
    `digest-${createHash('sha256').update(destination).digest('hex').slice(0, 12)}`,
  );
  await run('buildah', [
    'push',
    '--quiet',
    '--tls-verify=false',
    '--digestfile',
    digestFile,
    image,
    `docker://${destination}`,
  ]);
  return readFileSync(digestFile, 'utf8').trim();
}

/** Points `tag` at the image with `digest` by copying that exact manifest; fails if the digest would change. */
export async function promoteByDigest(repository, digest, tag) {
  await run('skopeo', [
    'copy',
    '--quiet',
    '--preserve-digests',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${repository}@${digest}`,
    `docker://${repository}:${tag}`,
  ]);
}

/** What the registry serves for a reference: its reported digest and the sha256 of the manifest bytes themselves. */
export async function fetchRemoteManifest(reference) {
  const raw = (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`]))
    .stdout;
  const reported = (
    await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${reference}`])
  ).stdout.trim();
  return {
    manifest: JSON.parse(raw),
    reportedDigest: reported,
    contentDigest: `sha256:${createHash('sha256').update(raw).digest('hex')}`,
  };
}

/** The processes descending from rootPid, with the fields the tests look at. */
export function listDescendantProcesses(rootPid) {
  const all = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const field = (name) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '';
      all.push({
        pid: Number(entry),
        ppid: Number(field('PPid')),
        name: field('Name'),
        uid: Number(field('Uid').split(/\s+/)[0]),
        namespacePids: field('NSpid').split(/\s+/).map(Number),
        cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean),
      });
    } catch {
      // the process ended while we looked
    }
  }
  const descendants = [];
  const frontier = [rootPid];
  while (frontier.length > 0) {
    const parent = frontier.pop();
    for (const process of all.filter((candidate) => candidate.ppid === parent)) {
      descendants.push(process);
      frontier.push(process.pid);
    }
  }
  return descendants;
}

/**
 * Runs the image's own ENTRYPOINT + CMD with `buildah run --isolation chroot`, as its configured USER.
 * chroot isolation shares the host's PID namespace; with asPid1 the command instead starts (still as the image's user)
 * inside a fresh PID namespace via unshare + setpriv, so the entrypoint really is PID 1, as under Docker.
 * Returns { container, process, exited, output() }; remove() kills what is left and deletes the working container.
 */
export async function startServiceContainer({ image, name, env = {}, asPid1 = false }) {
  const { config } = await inspectLocalImage(image);
  const command = [...(config.config.Entrypoint ?? []), ...(config.config.Cmd ?? [])];
  const user = config.config.User || 'root';
  const container = (
    await run('buildah', ['from', '--pull=never', '--quiet', '--name', name, image])
  ).stdout.trim();
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  const runArgs = asPid1
    ? [
        'run',
        '--isolation',
        'chroot',
        '--user',
        'root',
        '--cap-add',
        'CAP_SYS_ADMIN',
        ...envArgs,
        container,
        '--',
        'unshare',
        '--pid',
        '--fork',
        '--mount-proc',
        'setpriv',
        `--reuid=${user}`,
        `--regid=${user}`,
        '--clear-groups',
        '--',
        ...command,
      ]
    : ['run', '--isolation', 'chroot', ...envArgs, container, '--', ...command];
  const child = spawn('buildah', runArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal, at: process.hrtime.bigint() })),
  );
  return {
    container,
    command,
    process: child,
    exited,
    output: () => output,
    async remove() {
      if (child.exitCode === null && child.signalCode === null) {
        // Listed before anything dies: orphans are re-parented and could no longer be found from child.pid.
        for (const pid of [
          child.pid,
          ...listDescendantProcesses(child.pid).map((leftover) => leftover.pid),
        ]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await exited;
      }
      await run('buildah', ['rm', container]);
    },
  };
}
