// RegistryClient's token flow and redirects, against a loopback stand-in for a token-authenticated registry such as
// GitLab's (registry.gitlab.com answers 401 with a Bearer challenge naming gitlab.com/jwt/auth). Debian's
// docker-registry covers the unauthenticated protocol in plan-reconcile.test.ts and status.test.ts.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { contentTag, parseRepository, readRegistryConfig, RegistryClient } from '../src/plan/registry';

interface Seen {
  url: string;
  authorization: string | undefined;
}

const USER = 'gitlab-ci-token';
const PASSWORD = 'job-token-5e1f';
const TOKEN = 'bearer-token-9a8b';
const CONFIG = Buffer.from(
  JSON.stringify({ config: { Labels: { 'org.opencontainers.image.revision': 'c'.repeat(40) } } }),
);
const CONFIG_DIGEST = `sha256:${createHash('sha256').update(CONFIG).digest('hex')}`;
const MANIFEST = Buffer.from(
  JSON.stringify({ schemaVersion: 2, config: { digest: CONFIG_DIGEST }, layers: [] }),
);
const MANIFEST_DIGEST = `sha256:${createHash('sha256').update(MANIFEST).digest('hex')}`;

let registry: http.Server;
let storage: http.Server;
let registrySeen: Seen[];
let storageSeen: Seen[];
let host: string;

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  // Blob storage on another origin (another port), as registries hand blobs to object storage.
  storage = http.createServer((request, response) => {
    storageSeen.push({ url: request.url ?? '', authorization: request.headers.authorization });
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(CONFIG);
  });
  const storageHost = await listen(storage);
  registry = http.createServer((request, response) => {
    const url = request.url ?? '';
    registrySeen.push({ url, authorization: request.headers.authorization });
    if (url.startsWith('/jwt/auth')) {
      const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
      response.writeHead(request.headers.authorization === expected ? 200 : 401, {
        'content-type': 'application/json',
      });
      response.end(request.headers.authorization === expected ? JSON.stringify({ token: TOKEN }) : '{}');
      return;
    }
    if (request.headers.authorization !== `Bearer ${TOKEN}`) {
      response.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${host}/jwt/auth",service="container_registry",scope="repository:group/project/weather-app:pull"`,
      });
      response.end();
      return;
    }
    if (url === `/v2/group/project/weather-app/manifests/${contentTag('1111111111111111')}`) {
      response.writeHead(200, {
        'content-type': 'application/vnd.docker.distribution.manifest.v2+json',
        'docker-content-digest': MANIFEST_DIGEST,
      });
      response.end(MANIFEST);
      return;
    }
    if (url === `/v2/group/project/weather-app/blobs/${CONFIG_DIGEST}`) {
      response.writeHead(307, { location: `http://${storageHost}/blob?signature=abc` });
      response.end();
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  });
  host = await listen(registry);
});

afterAll(async () => {
  for (const server of [registry, storage]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

beforeEach(() => {
  registrySeen = [];
  storageSeen = [];
});

const client = (password = PASSWORD) =>
  new RegistryClient({ repository: `${host}/group/project`, username: USER, password }, 2000);

it('gets a pull token from the realm with the job credentials, then reads the digest and the commit label', async () => {
  const lookup = await client().lookup('weather-app', contentTag('1111111111111111'));

  expect(lookup).toEqual({
    state: 'found',
    reference: `${host}/group/project/weather-app:content-1111111111111111`,
    digest: MANIFEST_DIGEST,
    commit: 'c'.repeat(40),
  });
  const tokenRequest = registrySeen.find((seen) => seen.url.startsWith('/jwt/auth'));
  expect(new URL(tokenRequest!.url, 'http://x').searchParams.get('scope')).toBe(
    'repository:group/project/weather-app:pull',
  );
});

it('never sends the registry credentials to the blob storage a redirect points at', async () => {
  await client().lookup('weather-app', contentTag('1111111111111111'));

  expect(storageSeen).toEqual([{ url: '/blob?signature=abc', authorization: undefined }]);
});

it('reports a tag the registry does not have as missing', async () => {
  await expect(client().lookup('weather-app', contentTag('2222222222222222'))).resolves.toEqual({
    state: 'missing',
    reference: `${host}/group/project/weather-app:content-2222222222222222`,
  });
});

it('reports rejected credentials as unreachable, without the password', async () => {
  const lookup = await client('wrong-password').lookup('weather-app', contentTag('1111111111111111'));

  expect(lookup).toMatchObject({ state: 'unreachable' });
  expect(JSON.stringify(lookup)).not.toContain('wrong-password');
});

it('reads its configuration from SLIPWAY_IMAGE_REPOSITORY, else CI_REGISTRY_IMAGE, and refuses a bare name', () => {
  expect(readRegistryConfig({})).toBeUndefined();
  expect(
    readRegistryConfig({ CI_REGISTRY_IMAGE: 'registry.gitlab.com/g/p/', CI_REGISTRY_USER: 'u' }),
  ).toEqual({
    repository: 'registry.gitlab.com/g/p',
    username: 'u',
    password: undefined,
  });
  expect(
    readRegistryConfig({
      CI_REGISTRY_IMAGE: 'registry.gitlab.com/g/p',
      SLIPWAY_IMAGE_REPOSITORY: '127.0.0.1:5000/x',
    })?.repository,
  ).toBe('127.0.0.1:5000/x');
  expect(parseRepository('registry.gitlab.com/g/p')).toEqual({
    baseUrl: 'https://registry.gitlab.com',
    name: 'g/p',
  });
  expect(parseRepository('127.0.0.1:5000/x')).toEqual({ baseUrl: 'http://127.0.0.1:5000', name: 'x' });
  expect(() => parseRepository('slipway/weather-app')).toThrow('must start with a registry host');
});
