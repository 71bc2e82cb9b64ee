import { computeContentKeys } from './content-key';
import { findEnvironments, readServedVersion } from './environments';
import { contentTag, readRegistryConfig, RegistryClient } from './registry';

/** What one environment serves, compared with HEAD's content key. */
export interface EnvironmentStatus {
  url: string;
  /** The contentKey the environment's /version reports; null when it reports none or cannot be asked. */
  contentKey: string | null;
  commit: string | null;
  /** in-sync: serves HEAD's content; drift: serves other content (or none); unreachable: /version did not answer. */
  state: 'in-sync' | 'drift' | 'unreachable';
}

/** One app's line of `slipway status --format json`. */
export interface AppStatus {
  app: string;
  /** The content key of the app's image inputs at HEAD (the working tree, as turbo hashes it). */
  contentKey: string;
  /** The digest of `<repository>/<app>:content-<key>`, or null when there is none, or no registry to ask. */
  image: string | null;
  /** Keyed by environment name (staging, production, …): every `<APP>_<NAME>_URL` variable set. */
  environments: Record<string, EnvironmentStatus>;
}

/**
 * What runs where: for every app, its content key at HEAD, the registry's image for it and what each configured
 * environment serves. Inputs: the repository root, the environment (SLIPWAY_IMAGE_REPOSITORY or CI_REGISTRY_IMAGE,
 * CI_REGISTRY_USER/PASSWORD, <APP>_<ENVIRONMENT>_URL), a per-request timeout in ms. `note` receives one line per
 * thing that could not be asked (an unreachable registry). Throws only when turbo cannot hash the workspace.
 */
export async function collectStatus(
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 5000,
  note: (line: string) => void = () => undefined,
): Promise<AppStatus[]> {
  const keys = await computeContentKeys(cwd, env);
  const registryConfig = readRegistryConfig(env);
  const registry = registryConfig ? new RegistryClient(registryConfig, timeoutMs) : undefined;
  return Promise.all(
    keys.map(async ({ path, contentKey }) => {
      const app = path.slice(path.lastIndexOf('/') + 1);
      let image: string | null = null;
      if (registry) {
        const lookup = await registry.lookup(app, contentTag(contentKey));
        if (lookup.state === 'found') image = lookup.digest;
        if (lookup.state === 'unreachable')
          note(`${app}: cannot ask the registry about ${lookup.reference}: ${lookup.reason}`);
      }
      const environments: Record<string, EnvironmentStatus> = {};
      for (const environment of findEnvironments(app, env)) {
        const served = await readServedVersion(environment.url, timeoutMs);
        if (served.state === 'unreachable') {
          note(`${app}: ${environment.name} cannot be asked: ${served.reason}`);
          environments[environment.name] = {
            url: environment.url,
            contentKey: null,
            commit: null,
            state: 'unreachable',
          };
          continue;
        }
        environments[environment.name] = {
          url: environment.url,
          contentKey: served.contentKey ?? null,
          commit: served.commit ?? null,
          state: served.contentKey === contentKey ? 'in-sync' : 'drift',
        };
      }
      return { app, contentKey, image, environments };
    }),
  );
}
