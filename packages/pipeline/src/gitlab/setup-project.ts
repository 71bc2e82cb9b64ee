// `slipway gitlab setup`: brings a project's CI/CD variables and production environment protection to the
// state the demo pipeline needs. It compares before it writes, so a second run changes nothing.
import { protectedEnvironmentListShape, protectedTagListShape, variableListShape } from './api-shapes';
import { expectShape, GitlabApiError, type GitlabClient } from './gitlab-client';
import type { ProjectRef } from './pipeline-tree';

export interface DesiredVariable {
  key: string;
  value: string;
  variableType: 'env_var' | 'file';
  protected: boolean;
  masked: boolean;
  environmentScope: string;
  description: string;
}

/** A secret an app declares (apps/<app>/package.json "slipway"), with its value from the environment. */
export interface AppSecret {
  key: string;
  value: string;
  /** GitLab environment scopes: one masked, protected variable per scope. */
  environments: string[];
  /** Where it is declared, e.g. "apps/<app>/package.json". */
  declaredBy: string;
}

export interface SetupSecrets {
  appSecrets?: AppSecret[];
  notifyWebhookUrl?: string;
  registryAuth?: string;
  kubeconfig?: string;
  sshPrivateKey?: string;
  sshKnownHosts?: string;
  /** Plain settings such as <APP>_STAGING_URL: visible, all environments. */
  settings?: Record<string, string>;
}

export const DEPLOY_SCOPES = ['production/*', 'staging/*'];

/**
 * A value the caller gave that GitLab could not store as a masked variable. It is bad input, not a failed call, so
 * the CLI exits 2 for it; the message names the variable and the rule, never the value.
 */
export class UnmaskableValueError extends Error {
  override name = 'UnmaskableValueError';
}
const MAINTAINER_ACCESS = 40;

/**
 * Why GitLab would refuse to mask this value, or undefined when it can. The rule depends on the variable type
 * (https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable; GitLab's app/models/concerns/ci/maskable.rb):
 * a raw variable needs only 8 or more characters and no whitespace; an expanded one must also use only the
 * Base64 alphabet and @ : . ~. The message states the rule, never which part the value breaks: that would tell
 * something about a secret (its length, its characters).
 */
export function maskableValueProblem(value: string, { raw }: { raw: boolean }): string | undefined {
  const rule = raw ? /^\S{8,}$/ : /^[A-Za-z0-9_+=/@:.~-]{8,}$/;
  if (rule.test(value)) return undefined;
  return raw
    ? 'GitLab masks a raw variable only when its value has 8 or more characters and no whitespace'
    : 'GitLab masks an expanded variable only when its value has 8 or more characters from A-Z a-z 0-9 + / = @ : . ~ _ -';
}

/**
 * The CI/CD variables setup writes for `secrets`: an app secret once per scope it declares, the webhook and the
 * deploy credential files once per deploy scope, the registry login and settings once for all environments.
 * Throws UnmaskableValueError for a secret GitLab could not mask.
 */
export function desiredVariables(secrets: SetupSecrets): DesiredVariable[] {
  const variables: DesiredVariable[] = [];
  const perDeployScope = (base: Omit<DesiredVariable, 'environmentScope'>) =>
    DEPLOY_SCOPES.forEach((environmentScope) => variables.push({ ...base, environmentScope }));
  for (const secret of secrets.appSecrets ?? []) {
    const problem = maskableValueProblem(secret.value, { raw: true });
    if (problem) throw new UnmaskableValueError(`${secret.key} cannot be a masked variable: ${problem}`);
    for (const environmentScope of secret.environments) {
      variables.push({
        key: secret.key,
        value: secret.value,
        variableType: 'env_var',
        protected: true,
        masked: true,
        environmentScope,
        description: `declared in ${secret.declaredBy} (set by slipway gitlab setup)`,
      });
    }
  }
  if (secrets.notifyWebhookUrl !== undefined) {
    const problem = maskableValueProblem(secrets.notifyWebhookUrl, { raw: true });
    if (problem)
      throw new UnmaskableValueError(`SLIPWAY_NOTIFY_WEBHOOK_URL cannot be a masked variable: ${problem}`);
    perDeployScope({
      key: 'SLIPWAY_NOTIFY_WEBHOOK_URL',
      value: secrets.notifyWebhookUrl,
      variableType: 'env_var',
      protected: true,
      masked: true,
      description: 'Slack-compatible webhook the deploy template notifies (input notify-webhook-variable)',
    });
  }
  if (secrets.registryAuth !== undefined) {
    variables.push({
      key: 'REGISTRY_AUTH_FILE',
      value: secrets.registryAuth,
      variableType: 'file',
      // Builds run on merge request branches too, so the registry login cannot be limited to protected refs.
      protected: false,
      masked: false,
      environmentScope: '*',
      description:
        'containers-auth.json for an external registry; buildah and skopeo read REGISTRY_AUTH_FILE',
    });
  }
  if (secrets.kubeconfig !== undefined) {
    perDeployScope({
      key: 'KUBECONFIG',
      value: secrets.kubeconfig,
      variableType: 'file',
      protected: true,
      masked: false,
      description: 'kubeconfig of the kubernetes deploy driver; kubectl reads KUBECONFIG',
    });
  }
  if (secrets.sshPrivateKey !== undefined) {
    perDeployScope({
      key: 'SSH_PRIVATE_KEY',
      value: secrets.sshPrivateKey,
      variableType: 'file',
      protected: true,
      masked: false,
      description: 'private key of the compose deploy driver (input ssh-key-variable)',
    });
  }
  if (secrets.sshKnownHosts !== undefined) {
    perDeployScope({
      key: 'SSH_KNOWN_HOSTS',
      value: secrets.sshKnownHosts,
      variableType: 'file',
      protected: true,
      masked: false,
      description: 'known_hosts lines of the compose deploy target (input ssh-known-hosts-variable)',
    });
  }
  for (const [key, value] of Object.entries(secrets.settings ?? {})) {
    variables.push({
      key,
      value,
      variableType: 'env_var',
      protected: false,
      masked: false,
      environmentScope: '*',
      description: 'set by slipway gitlab setup --set',
    });
  }
  return variables;
}

export interface SetupReport {
  lines: string[];
  changes: number;
}

interface ExistingVariable {
  key: string;
  value: string | null;
  variable_type: string;
  protected: boolean;
  masked: boolean;
  hidden?: boolean;
  raw?: boolean;
  environment_scope: string;
  description?: string | null;
}

/** Names of the attributes that differ; the value is compared but never shown. */
function differences(existing: ExistingVariable, desired: DesiredVariable): string[] {
  const changed: string[] = [];
  // Since GitLab 17.4 the API answers a hidden variable's value as null
  // (https://docs.gitlab.com/api/project_level_variables/): it cannot be compared, so it is always written.
  if (existing.value === null) changed.push('value (hidden, so not comparable: rewritten)');
  else if (existing.value !== desired.value) changed.push('value');
  if (existing.variable_type !== desired.variableType) changed.push('type');
  if (existing.protected !== desired.protected) changed.push('protected');
  if (existing.masked !== desired.masked) changed.push('masked');
  if (existing.raw !== true) changed.push('raw');
  if ((existing.description ?? '') !== desired.description) changed.push('description');
  return changed;
}

function describe(variable: DesiredVariable): string {
  const flags = [
    variable.variableType === 'file' ? 'file' : '',
    variable.masked ? 'masked' : '',
    variable.protected ? 'protected' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${variable.key} [${variable.environmentScope}]${flags ? ` (${flags})` : ''}`;
}

export async function syncVariables(
  client: GitlabClient,
  project: ProjectRef,
  desired: DesiredVariable[],
): Promise<SetupReport> {
  const existing: ExistingVariable[] = expectShape(
    variableListShape,
    await client.ProjectVariables.all(project, { perPage: 100 }),
    'GET /projects/:id/variables',
  );
  const report: SetupReport = { lines: [], changes: 0 };
  for (const variable of desired) {
    // raw: values are used as given; a "$" in a key or a kubeconfig must not be expanded.
    const attributes = {
      variableType: variable.variableType,
      protected: variable.protected,
      masked: variable.masked,
      raw: true,
      environmentScope: variable.environmentScope,
      description: variable.description,
    };
    const current = existing.find(
      (v) => v.key === variable.key && v.environment_scope === variable.environmentScope,
    );
    if (!current) {
      await client.ProjectVariables.create(project, variable.key, variable.value, attributes);
      report.lines.push(`created   ${describe(variable)}`);
      report.changes += 1;
      continue;
    }
    const changed = differences(current, variable);
    if (changed.length === 0) {
      report.lines.push(`unchanged ${describe(variable)}`);
      continue;
    }
    await client.ProjectVariables.edit(project, variable.key, variable.value, {
      ...attributes,
      filter: { environment_scope: variable.environmentScope },
    });
    report.lines.push(`updated   ${describe(variable)}: ${changed.join(', ')}`);
    report.changes += 1;
  }
  return report;
}

export async function protectProductionEnvironments(
  client: GitlabClient,
  project: ProjectRef,
  apps: string[],
): Promise<SetupReport> {
  const report: SetupReport = { lines: [], changes: 0 };
  // gitbeaker 43 builds this resource's URL without encoding the project, so "group/name" would hit a 404.
  const projectId = typeof project === 'string' ? encodeURIComponent(project) : project;
  let protectedNames: Set<string>;
  try {
    const existing = await client.ProjectProtectedEnvironments.all(projectId, { perPage: 100 });
    protectedNames = new Set(
      expectShape(protectedEnvironmentListShape, existing, 'GET /projects/:id/protected_environments').map(
        (environment) => environment.name,
      ),
    );
  } catch (error) {
    if (error instanceof GitlabApiError && (error.status === 403 || error.status === 404)) {
      throw new GitlabApiError(
        `cannot protect the production environments: the protected environments API answered HTTP ${error.status}. ` +
          'It needs GitLab Premium or Ultimate and the Maintainer role; re-run with --skip-protected-environments to set only the variables.',
        error.status,
      );
    }
    throw error;
  }
  for (const app of apps) {
    const name = `production/${app}`;
    if (protectedNames.has(name)) {
      report.lines.push(`unchanged protected environment ${name}`);
      continue;
    }
    await client.ProjectProtectedEnvironments.create(projectId, name, [{ accessLevel: MAINTAINER_ACCESS }]);
    report.lines.push(`protected environment ${name}: only Maintainers may deploy`);
    report.changes += 1;
  }
  return report;
}

/**
 * Protected tags matching release.yml's default tag-pattern (`v` + semver). Protected variables (KUBECONFIG, the
 * SSH key, the API key) reach only jobs on protected branches and protected tags
 * (https://docs.gitlab.com/ci/variables/#protect-a-cicd-variable), so without this a release tag's production
 * deploy runs without them. Protecting `v*` also limits who may create release tags to Maintainers
 * (https://docs.gitlab.com/user/project/protected_tags/, API: https://docs.gitlab.com/api/protected_tags/).
 */
export const RELEASE_TAG_WILDCARD = 'v*';

export async function protectReleaseTags(
  client: GitlabClient,
  project: ProjectRef,
  wildcard = RELEASE_TAG_WILDCARD,
): Promise<SetupReport> {
  const report: SetupReport = { lines: [], changes: 0 };
  try {
    const names = new Set(
      expectShape(
        protectedTagListShape,
        await client.ProtectedTags.all(project, { perPage: 100 }),
        'GET /projects/:id/protected_tags',
      ).map((tag) => tag.name),
    );
    if (names.has(wildcard)) {
      report.lines.push(`unchanged protected tags ${wildcard}`);
      return report;
    }
    await client.ProtectedTags.protect(project, wildcard, { createAccessLevel: MAINTAINER_ACCESS });
  } catch (error) {
    if (error instanceof GitlabApiError && error.status === 403) {
      throw new GitlabApiError(
        'cannot protect the release tags: the protected tags API answered HTTP 403; it needs the Maintainer role. ' +
          'Re-run with --skip-protected-tags to leave tags alone (then tag pipelines get no protected variables)',
        403,
      );
    }
    throw error;
  }
  report.lines.push(
    `protected tags ${wildcard}: only Maintainers may create them, and their pipelines get the protected variables`,
  );
  report.changes += 1;
  return report;
}
