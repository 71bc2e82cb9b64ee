import { createHash } from 'node:crypto';
import { z } from 'zod';
import { refuseCredentials } from './credentials';

/**
 * Where the apps' images live: `<repository>/<app>`, as build.yml pushes them. From SLIPWAY_IMAGE_REPOSITORY, else
 * GitLab's CI_REGISTRY_IMAGE; the pull credentials from CI_REGISTRY_USER / CI_REGISTRY_PASSWORD (the job token).
 */
export interface RegistryConfig {
  /** e.g. "registry.gitlab.com/group/project" or "127.0.0.1:5000/slipway". */
  repository: string;
  username?: string | undefined;
  password?: string | undefined;
}

export type ImageLookup =
  | { state: 'found'; reference: string; digest: string; commit: string | undefined }
  | { state: 'missing'; reference: string }
  | { state: 'unreachable'; reference: string; reason: string };

/** The label build.yml and the Dockerfile stamp with the commit that built the image. */
export const REVISION_LABEL = 'org.opencontainers.image.revision';

export function contentTag(contentKey: string): string {
  return `content-${contentKey}`;
}

/**
 * The registry to ask, from SLIPWAY_IMAGE_REPOSITORY, else CI_REGISTRY_IMAGE; undefined when neither is set.
 * Throws (naming the variable, never its value) when the repository carries credentials (`user:pass@host/...`):
 * every image reference slipway logs or writes into a child pipeline starts with it.
 */
export function readRegistryConfig(env: NodeJS.ProcessEnv): RegistryConfig | undefined {
  const variable =
    env.SLIPWAY_IMAGE_REPOSITORY !== undefined ? 'SLIPWAY_IMAGE_REPOSITORY' : 'CI_REGISTRY_IMAGE';
  const repository = (env[variable] ?? '').trim();
  if (repository === '') return undefined;
  refuseCredentials(
    variable,
    repository,
    'registry credentials belong in CI_REGISTRY_USER and CI_REGISTRY_PASSWORD',
    { anyAt: true },
  );
  return {
    repository: repository.replace(/\/+$/, ''),
    username: env.CI_REGISTRY_USER || undefined,
    password: env.CI_REGISTRY_PASSWORD || undefined,
  };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const manifestSchema = z.looseObject({ config: z.object({ digest: z.string() }).optional() });
const imageConfigSchema = z.looseObject({
  config: z.looseObject({ Labels: z.record(z.string(), z.string()).nullable().optional() }).optional(),
});
const tokenSchema = z.looseObject({ token: z.string().optional(), access_token: z.string().optional() });

function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * Splits "host[:port]/path" into the registry's base URL and the repository name. Plain HTTP only on loopback,
 * where Debian's docker-registry runs in tests; everything else is HTTPS.
 */
export function parseRepository(repository: string): { baseUrl: string; name: string } {
  const [host, ...rest] = repository.split('/');
  if (!host || rest.length === 0 || !/[.:]|^localhost$/.test(host)) {
    throw new Error(
      `image repository "${repository}" must start with a registry host, e.g. registry.gitlab.com/group/project`,
    );
  }
  return { baseUrl: `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`, name: rest.join('/') };
}

/** A Bearer challenge's parameters (RFC 6750 §3; https://distribution.github.io/distribution/spec/auth/token/). */
function parseChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  const parameters: Record<string, string> = {};
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g)) parameters[match[1]!] = match[2]!;
  return parameters.realm ? parameters : undefined;
}

/**
 * A small client for the registry HTTP API v2, enough to ask "is there an image under this tag, with which digest,
 * built by which commit". Pull-only: it reads manifests and the image config, never writes.
 * Credentials go only to the registry's own origin and to the token realm the registry names; a redirect to
 * another origin (blob storage) is followed without them.
 */
export class RegistryClient {
  private readonly baseUrl: string;
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly config: RegistryConfig,
    private readonly timeoutMs = 5000,
  ) {
    this.baseUrl = parseRepository(config.repository).baseUrl;
  }

  /** The image reference `<repository>/<app>:<tag>`. */
  reference(app: string, tag: string): string {
    return `${this.config.repository}/${app}:${tag}`;
  }

  private basicAuthorization(): string | undefined {
    const { username, password } = this.config;
    if (!username || !password) return undefined;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async fetchToken(challenge: Record<string, string>, scope: string): Promise<string> {
    const realm = new URL(challenge.realm!);
    if (realm.protocol !== 'https:' && !isLoopbackHost(realm.host)) {
      throw new Error(`the registry's token realm ${realm.origin} is not HTTPS`);
    }
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    realm.searchParams.set('scope', challenge.scope ?? scope);
    const authorization = this.basicAuthorization();
    const response = await fetch(realm, {
      headers: authorization ? { authorization } : {},
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`the registry's token service answered HTTP ${response.status}`);
    const body = tokenSchema.parse(await response.json());
    const token = body.token ?? body.access_token;
    if (!token) throw new Error("the registry's token service answered without a token");
    return token;
  }

  /** GET (or HEAD) a registry path with the pull token for `name`, following same-origin-only credentials. */
  private async get(path: string, name: string, accept: string): Promise<Response> {
    const scope = `repository:${name}:pull`;
    const send = async (url: URL, authorization: string | undefined, hops = 0): Promise<Response> => {
      const response = await fetch(url, {
        headers: { accept, ...(authorization ? { authorization } : {}) },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location && hops < 3) {
        const next = new URL(location, url);
        // Blob downloads redirect to object storage: the registry's credentials stay with the registry.
        return send(next, next.origin === url.origin ? authorization : undefined, hops + 1);
      }
      return response;
    };
    const url = new URL(`${this.baseUrl}/v2/${name}${path}`);
    const cached = this.tokens.get(scope);
    let response = await send(url, cached ? `Bearer ${cached}` : this.basicAuthorization());
    if (response.status === 401) {
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      if (challenge) {
        await response.body?.cancel();
        const token = await this.fetchToken(challenge, scope);
        this.tokens.set(scope, token);
        response = await send(url, `Bearer ${token}`);
      }
    }
    return response;
  }

  /**
   * Looks up `<repository>/<app>:<tag>`. Output: found (digest, and the commit from its revision label when the
   * image config has one), missing (the registry answered 404), or unreachable (no answer, an auth failure, or
   * an unexpected answer; `reason` says which). Never throws for a registry problem.
   */
  async lookup(app: string, tag: string): Promise<ImageLookup> {
    const reference = this.reference(app, tag);
    const { name } = parseRepository(`${this.config.repository}/${app}`);
    try {
      const response = await this.get(`/manifests/${tag}`, name, MANIFEST_TYPES);
      if (response.status === 404) {
        await response.body?.cancel();
        return { state: 'missing', reference };
      }
      if (!response.ok) {
        await response.body?.cancel();
        return { state: 'unreachable', reference, reason: `the registry answered HTTP ${response.status}` };
      }
      const bytes = Buffer.from(await response.arrayBuffer());
      const digest =
        response.headers.get('docker-content-digest') ??
        `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const manifest = manifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
      const configDigest = manifest.success ? manifest.data.config?.digest : undefined;
      return {
        state: 'found',
        reference,
        digest,
        commit: configDigest ? await this.revision(name, configDigest) : undefined,
      };
    } catch (error) {
      return { state: 'unreachable', reference, reason: (error as Error).message };
    }
  }

  /** The commit label of an image config, or undefined when it has none or cannot be read. */
  private async revision(name: string, configDigest: string): Promise<string | undefined> {
    try {
      const response = await this.get(`/blobs/${configDigest}`, name, 'application/json, */*');
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const config = imageConfigSchema.safeParse(await response.json());
      const revision = config.success ? config.data.config?.Labels?.[REVISION_LABEL] : undefined;
      return revision || undefined;
    } catch {
      return undefined;
    }
  }
}
