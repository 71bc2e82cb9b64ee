// Debian's docker-registry on loopback, the real registry HTTP API v2, and a deployment's /version stand-in.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { unusedLoopbackUrl } from './fake-deployment';

export interface LocalRegistry {
  /** "127.0.0.1:<port>" */
  host: string;
  stop: () => Promise<void>;
}

/** Starts docker-registry with its storage under `workDir`; resolves once /v2/ answers. */
export async function startLocalRegistry(workDir: string): Promise<LocalRegistry> {
  const host = new URL(await unusedLoopbackUrl()).host;
  const config = path.join(workDir, 'registry.yml');
  writeFileSync(
    config,
    stringify({
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: path.join(workDir, 'registry') } },
      http: { addr: host },
    }),
  );
  const registry: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => registry.once('exit', () => resolve()));
  const stop = async () => {
    if (registry.exitCode === null && registry.signalCode === null) registry.kill('SIGTERM');
    await exited;
  };
  for (let attempt = 0; attempt < 150; attempt += 1) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) return { host, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error('docker-registry did not start');
}

/** What skopeo reads of an image in a plain-HTTP registry (loopback); undefined when the registry has none. */
export function skopeoInspect(
  reference: string,
): { Digest: string; Labels: Record<string, string> } | undefined {
  try {
    return JSON.parse(
      execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reference}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { Digest: string; Labels: Record<string, string> };
  } catch {
    return undefined;
  }
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function uploadBlob(host: string, name: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const start = await fetch(`http://${host}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
  const location = new URL(start.headers.get('location')!, `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
  return digest;
}

/**
 * Pushes a minimal single-layer image (a docker v2 manifest) to `<host>/<name>:<tag>` through the registry API,
 * with `labels` in its config, as build.yml's pushes carry the revision label. Returns the manifest digest.
 * `variant` changes the layer bytes, so two images of the same tag can differ.
 */
export async function pushImage(
  host: string,
  name: string,
  tag: string,
  labels: Record<string, string>,
  variant = '',
): Promise<string> {
  const layer = Buffer.from(`layer ${name} ${variant}`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: labels },
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    }),
  );
  const layerDigest = await uploadBlob(host, name, layer);
  const configDigest = await uploadBlob(host, name, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: configDigest,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: layerDigest,
        },
      ],
    }),
  );
  const put = await fetch(`http://${host}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest push: HTTP ${put.status} ${await put.text()}`);
  return sha256(manifest);
}

export interface FakeEnvironment {
  url: string;
  /** What /version answers; undefined makes it answer 503. */
  serve: (version: { contentKey?: string; commit?: string } | undefined) => void;
  requests: () => number;
  close: () => Promise<void>;
}

/** A deployed environment's /version on loopback (the internet boundary of the planner). */
export async function startFakeEnvironment(): Promise<FakeEnvironment> {
  let served: { contentKey?: string; commit?: string } | undefined;
  let requests = 0;
  const server = http.createServer((request, response) => {
    requests += 1;
    if (request.url === '/version' && served) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ version: '0.1.0', ...served }));
      return;
    }
    response.writeHead(request.url === '/version' ? 503 : 404, { 'content-type': 'application/json' });
    response.end('{"status":"unavailable"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serve: (version) => {
      served = version;
    },
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
