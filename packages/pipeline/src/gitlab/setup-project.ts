// `slipway gitlab setup`: brings a project's CI/CD variables and production environment protection to the
// state the demo pipeline needs. It compares before it writes, so a second run changes nothing.
import { CliUsageError } from '../cli-errors';
import { GitlabApiError, type GitlabClient } from './gitlab-client';
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
const MAINTAINER_ACCESS = 40;

/** GitLab refuses to mask values outside this shape; checking first gives a clear message instead of "is invalid". */
export function maskableValueProblem(value: string): string | undefined {
  if (value.length < 8) return 'it is shorter than 8 characters';
  if (/\s/.test(value)) return 'it contains whitespace or a line break';
  if (!/^[A-Za-z0-9+/=@:.~_-]+$/.test(value))
    return 'it contains characters other than A-Z a-z 0-9 + / = @ : . ~ _ -';
  return undefined;
}

export function desiredVariables(secrets: SetupSecrets): DesiredVariable[] {
  const variables: DesiredVariable[] = [];
  const perDeployScope = (base: Omit<DesiredVariable, 'environmentScope'>) =>
    DEPLOY_SCOPES.forEach((environmentScope) => variables.push({ ...base, environmentScope }));
  for (const secret of secrets.appSecrets ?? []) {
    const problem = maskableValueProblem(secret.value);
    if (problem) throw new CliUsageError(`${secret.key} cannot be a masked variable: ${problem}`);
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
    const problem = maskableValueProblem(secrets.notifyWebhookUrl);
    if (problem)
      throw new CliUsageError(`SLIPWAY_NOTIFY_WEBHOOK_URL cannot be a masked variable: ${problem}`);
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
  raw?: boolean;
  environment_scope: string;
}

/** Names of the attributes that differ; the value is compared but never shown. */
function differences(existing: ExistingVariable, desired: DesiredVariable): string[] {
  const changed: string[] = [];
  // GitLab returns null for hidden values; those cannot be compared, so they are left alone.
  if (existing.value !== null && existing.value !== desired.value) changed.push('value');
  if (existing.variable_type !== desired.variableType) changed.push('type');
  if (existing.protected !== desired.protected) changed.push('protected');
  if (existing.masked !== desired.masked) changed.push('masked');
  if (existing.raw !== true) changed.push('raw');
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
  const existing = (await client.ProjectVariables.all(project, {
    perPage: 100,
  })) as unknown as ExistingVariable[];
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
    protectedNames = new Set(existing.map((environment) => environment.name));
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
