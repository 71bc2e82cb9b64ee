// The infrastructure `npm run e2e` (docker/test/e2e-docker-pipeline.mjs) stands up around gitlab-ci-local's docker
// executor, in place of GitLab.com's: the Docker engine, a user network that every job and service container joins,
// a TLS registry on that network's gateway address (reachable from the job containers, from docker:dind and from the
// engine itself, which pulls for the deploy host), and the deploy host (sshd + docker compose, talking to the engine).
// Each function says what it starts and returns a way to remove it; nothing here touches the internet.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot, run, waitFor } from './image-harness.mjs';

// Debian's client: the first `docker` on PATH here may be a static client without buildx (see issue 9).
export const DOCKER = '/usr/bin/docker';
const ENGINE_SCRIPT = join(repoRoot, 'scripts/docker-engine.sh');
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export function docker(args, options) {
  return run(DOCKER, args, options);
}

async function engineAnswers() {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the Docker engine answers, starting it with scripts/docker-engine.sh when it does not.
 * Returns { startedHere, stop() }: stop() stops the engine only if this call started it.
 */
export async function ensureDockerEngine(say) {
  if (await engineAnswers()) {
    say('the Docker engine is already running; it stays running afterwards');
    return { startedHere: false, stop: async () => {} };
  }
  say('the Docker engine is not running: starting it with scripts/docker-engine.sh');
  await run('bash', [ENGINE_SCRIPT, 'start'], { stderrTo: process.stderr }).then(({ stdout }) =>
    process.stdout.write(stdout),
  );
  return {
    startedHere: true,
    stop: async () => {
      const { stdout } = await run('bash', [ENGINE_SCRIPT, 'stop']);
      process.stdout.write(stdout);
    },
  };
}

/** Creates a bridge network; returns its name, its gateway (an address of this machine) and remove(). */
export async function createNetwork(name) {
  await docker(['network', 'create', '--driver', 'bridge', '--label', 'org.slipway.e2e=1', name]);
  const { stdout } = await docker([
    'network',
    'inspect',
    '--format',
    '{{range .IPAM.Config}}{{.Gateway}} {{end}}',
    name,
  ]);
  const gateway = stdout.trim().split(/\s+/)[0];
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(gateway ?? '')) throw new Error(`network ${name} has no IPv4 gateway`);
  return {
    name,
    gateway,
    async remove() {
      // Whatever still hangs on the network (the apps compose started, a job container left by a crash) goes first.
      const { stdout: ids } = await docker([
        'network',
        'inspect',
        '--format',
        '{{range $id, $c := .Containers}}{{$id}} {{end}}',
        name,
      ]);
      const containers = ids.trim().split(/\s+/).filter(Boolean);
      if (containers.length > 0) await docker(['rm', '--force', '--volumes', ...containers]);
      await docker(['network', 'rm', name]);
    },
  };
}

/** A free TCP port on `address`. */
export function findFreePortOn(address) {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A throwaway CA and a server certificate for `ip` (subjectAltName IP), under dir. Returns the paths and a bundle
 * (this machine's CA bundle, which holds the TLS proxy's CA, plus the new CA) for the job containers.
 */
export async function createRegistryCertificates(dir, ip) {
  mkdirSync(dir, { recursive: true });
  const path = (name) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-days',
    '2',
    '-subj',
    '/CN=Slipway e2e registry CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.crt'),
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-subj',
    `/CN=${ip}`,
    '-keyout',
    path('registry.key'),
    '-out',
    path('registry.csr'),
  ]);
  writeFileSync(
    path('registry.ext'),
    `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path('registry.csr'),
    '-CA',
    path('ca.crt'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    path('registry.ext'),
    '-out',
    path('registry.crt'),
  ]);
  // skopeo's --cert-dir reads every *.crt as a CA and every *.key as a client key, so the CA gets a folder alone.
  mkdirSync(path('ca'));
  writeFileSync(path('ca/ca.crt'), readFileSync(path('ca.crt')));
  writeFileSync(
    path('bundle.crt'),
    `${readFileSync(HOST_CA_BUNDLE, 'utf8').trimEnd()}\n${readFileSync(path('ca.crt'), 'utf8')}`,
  );
  return {
    ca: path('ca.crt'),
    caDir: path('ca'),
    certificate: path('registry.crt'),
    key: path('registry.key'),
    bundle: path('bundle.crt'),
  };
}

/**
 * Debian's docker-registry with TLS on ip:<free port>, storage under stateDir. Resolves once /v2/ answers over
 * TLS with the given CA. stop() ends it.
 */
export async function startTlsRegistry(stateDir, ip, certificates) {
  const port = await findFreePortOn(ip);
  const address = `${ip}:${port}`;
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
      '  delete:',
      '    enabled: true',
      '  filesystem:',
      `    rootdirectory: ${join(stateDir, 'data')}`,
      'http:',
      `  addr: ${address}`,
      '  tls:',
      `    certificate: ${certificates.certificate}`,
      `    key: ${certificates.key}`,
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
    `docker-registry on https://${address}`,
    async () => {
      await run('curl', ['--silent', '--fail', '--cacert', certificates.ca, `https://${address}/v2/`]);
      return true;
    },
    { timeoutMs: 15_000 },
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

/**
 * Makes the engine itself trust the registry's CA (/etc/docker/certs.d/<host:port>/ca.crt, read at each pull), so
 * the deploy host's `docker compose pull` and this script's pushes verify TLS. Returns remove().
 */
export function trustRegistryInEngine(address, caFile) {
  const dir = join('/etc/docker/certs.d', address);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.crt'), readFileSync(caFile));
  return () => rmSync(dir, { recursive: true, force: true });
}

/** `skopeo inspect` of a reference in the TLS registry: its digest and the repository's tags. */
export async function inspectInRegistry(reference, caDir) {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--cert-dir',
    caDir,
    '--format',
    '{{.Digest}}',
    `docker://${reference}`,
  ]);
  return stdout.trim();
}

/** Removes the engine's images whose repository starts with prefix (the images a run pulled or tagged). */
export async function removeEngineImages(prefix) {
  const { stdout } = await docker(['images', '--digests', '--format', '{{.Repository}} {{.ID}}']);
  const ids = stdout
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([repository]) => repository?.startsWith(prefix))
    .map(([, id]) => id);
  for (const id of new Set(ids)) await docker(['rmi', '--force', id]).catch(() => {});
}
