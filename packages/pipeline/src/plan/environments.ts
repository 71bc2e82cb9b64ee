import { z } from 'zod';
import { refuseCredentials } from './credentials';

/** One deployment environment of an app, found from a CI/CD variable `<APP>_<ENVIRONMENT>_URL`. */
export interface AppEnvironment {
  /** Lowercase environment name, e.g. "staging". */
  name: string;
  /** The deployment's base URL, e.g. "https://weather-staging.example.com". */
  url: string;
}

export type ServedVersion =
  | { state: 'reachable'; contentKey: string | undefined; commit: string | undefined }
  | { state: 'unreachable'; reason: string };

/** The environment a default-branch pipeline deploys to automatically, and so the one a push reconciles. */
export const DEFAULT_BRANCH_ENVIRONMENT = 'staging';

const versionSchema = z.looseObject({ contentKey: z.string().optional(), commit: z.string().optional() });

/** "weather-app" → "WEATHER_APP", the prefix of its URL variables (WEATHER_APP_STAGING_URL). */
export function environmentVariablePrefix(app: string): string {
  return app.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/**
 * The environments configured for `app`: every variable `<APP>_<NAME>_URL` (NAME one word, e.g. STAGING,
 * PRODUCTION) holding an http(s) URL, the same variables the app's .gitlab-ci.yml gives its deploy jobs.
 * Sorted by name. A URL with credentials in it is refused: it would end up in the job log.
 */
export function findEnvironments(app: string, env: NodeJS.ProcessEnv): AppEnvironment[] {
  const pattern = new RegExp(`^${environmentVariablePrefix(app)}_([A-Z0-9]+)_URL$`);
  const found: AppEnvironment[] = [];
  for (const [variable, value] of Object.entries(env)) {
    const match = pattern.exec(variable);
    const url = value?.trim();
    if (!match || !url) continue;
    // Before anything else reads the value: the errors below and the log lines after never carry a password.
    refuseCredentials(variable, url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${variable} must be an http or https URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`${variable} must be an http or https URL`);
    found.push({ name: match[1]!.toLowerCase(), url: url.replace(/\/+$/, '') });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Asks a deployment what it serves: GET <url>/version, no redirects followed (a 3xx may point anywhere, and its
 * answer would not be this environment's). Output: the served contentKey and commit, or why it cannot be asked.
 * Never throws.
 */
export async function readServedVersion(url: string, timeoutMs = 5000): Promise<ServedVersion> {
  try {
    const response = await fetch(`${url}/version`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return { state: 'unreachable', reason: `${url}/version answered HTTP ${response.status}` };
    }
    const body = versionSchema.safeParse(await response.json());
    if (!body.success) return { state: 'unreachable', reason: `${url}/version is not a version document` };
    return { state: 'reachable', contentKey: body.data.contentKey, commit: body.data.commit };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { state: 'unreachable', reason: `${url}/version: ${reason}` };
  }
}
