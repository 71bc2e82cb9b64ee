// `slipway gitlab setup`: the project's CI/CD variables, protected environments and tags, and the reconcile schedule.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printUsage, type Command } from '../../command-line/command';
import { CliUsageError, parseFlags } from '../../command-line/flags';
import type { CommandIo } from '../../command-line/io';
import { projectShape } from '../../gitlab/api-shapes';
import { expectShape } from '../../gitlab/gitlab-client';
import { defaultReconcileSchedule, ensurePipelineSchedule } from '../../gitlab/pipeline-schedule';
import {
  desiredVariables,
  protectProductionEnvironments,
  protectReleaseTags,
  RELEASE_TAG_WILDCARD,
  syncVariables,
} from '../../gitlab/setup-project';
import { declaredSecrets, findRepositoryRoot, listAppDirectories, readRepositoryApps } from '../../repo';
import { connectToGitlab, PROJECT_OPTION, resolveProject } from './connection';

const USAGE = `usage: slipway gitlab setup [--project PATH|ID] [--set KEY=VALUE]... [--registry-auth-file FILE]
                           [--kubeconfig-file FILE] [--ssh-key-file FILE] [--ssh-known-hosts-file FILE]
                           [--skip-protected-environments] [--skip-protected-tags] [--repo-root DIR]
                           [--schedule-cron CRON] [--skip-schedule]

Creates or updates the project's CI/CD variables, protects production/<app> for each app in apps/ and protects
the release tags (${RELEASE_TAG_WILDCARD}), so tag pipelines get the protected variables.
It also creates the pipeline schedule that reconciles every environment with the default branch (redeploys
drift; its log is the drift report): hourly at minute 17 UTC ("17 * * * *"), or --schedule-cron CRON (five
cron fields, UTC). An existing schedule of that description with another branch, cron or time zone, or
inactive, is updated. The scheduled pipeline runs as the token's user. --skip-schedule leaves schedules alone.
The secrets the apps declare (apps/<app>/package.json "slipway") and SLIPWAY_NOTIFY_WEBHOOK_URL are read from
the environment: masked, protected, one variable per declared scope (production/*, staging/*). Files become
file variables: REGISTRY_AUTH_FILE (all environments), KUBECONFIG, SSH_PRIVATE_KEY, SSH_KNOWN_HOSTS (protected,
per deploy scope). --set stores a plain setting for all environments, e.g.
--set MY_APP_STAGING_URL=https://staging.example.com.
Values are never printed. Running it again changes nothing (a hidden variable's value cannot be read back, so
it is rewritten). GITLAB_HOST must be https, or loopback; SLIPWAY_GITLAB_ALLOW_HTTP=true allows plain http.`;

function readSecretFile(flag: string, file: string | undefined, cwd: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new CliUsageError(
      `--${flag}: cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * --schedule-cron: five cron fields (minute hour day-of-month month day-of-week), which GitLab evaluates in the
 * schedule's time zone (https://docs.gitlab.com/ci/pipelines/schedules/). Only the shape is checked here; GitLab
 * rejects an invalid field with 400, which the command reports.
 */
function parseCron(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const fields = raw.trim().split(/\s+/);
  if (fields.length !== 5 || fields.some((field) => !/^[\d*/,\-A-Za-z?LW#]+$/.test(field))) {
    throw new CliUsageError(
      `--schedule-cron expects five cron fields (minute hour day month weekday), e.g. "17 * * * *", got "${raw}"`,
    );
  }
  return fields.join(' ');
}

function parseSettings(assignments: string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const assignment of assignments) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(assignment);
    if (!match)
      throw new CliUsageError(`--set expects KEY=VALUE with a variable name as KEY, got "${assignment}"`);
    settings[match[1]!] = match[2]!;
  }
  return settings;
}

async function setup(argv: string[], io: CommandIo): Promise<number> {
  const { values: flags } = parseFlags(
    argv,
    {
      ...PROJECT_OPTION,
      'registry-auth-file': { type: 'string' },
      'kubeconfig-file': { type: 'string' },
      'ssh-key-file': { type: 'string' },
      'ssh-known-hosts-file': { type: 'string' },
      set: { type: 'string', multiple: true },
      'skip-protected-environments': { type: 'boolean' },
      'skip-protected-tags': { type: 'boolean' },
      'skip-schedule': { type: 'boolean' },
      'schedule-cron': { type: 'string' },
      'repo-root': { type: 'string' },
    },
    USAGE,
  );
  if (flags.help) return printUsage(io, USAGE);
  const project = resolveProject(flags.project, io.env);
  const scheduleCron = parseCron(flags['schedule-cron']);
  if (scheduleCron !== undefined && flags['skip-schedule']) {
    throw new CliUsageError('--schedule-cron and --skip-schedule exclude each other');
  }
  const repoRoot = findRepositoryRoot(io.cwd, flags['repo-root']);
  const declared = declaredSecrets(readRepositoryApps(repoRoot));
  const secrets = {
    appSecrets: declared.flatMap((secret) => {
      const value = io.env[secret.name];
      if (!value) return [];
      const declaredBy = secret.apps.map((app) => `apps/${app}/package.json`).join(', ');
      return [{ key: secret.name, value, environments: secret.environments, declaredBy }];
    }),
    notifyWebhookUrl: io.env.SLIPWAY_NOTIFY_WEBHOOK_URL || undefined,
    registryAuth: readSecretFile('registry-auth-file', flags['registry-auth-file'], io.cwd),
    kubeconfig: readSecretFile('kubeconfig-file', flags['kubeconfig-file'], io.cwd),
    sshPrivateKey: readSecretFile('ssh-key-file', flags['ssh-key-file'], io.cwd),
    sshKnownHosts: readSecretFile('ssh-known-hosts-file', flags['ssh-known-hosts-file'], io.cwd),
  };
  // Multi-line files are masked line by line too: a single line of a key must not leak on its own.
  const secretValues = [
    ...secrets.appSecrets.map((secret) => secret.value),
    ...Object.values(secrets).filter((value): value is string => typeof value === 'string' && value !== ''),
  ];
  io.mask([
    ...secretValues,
    ...secretValues.flatMap((value) => value.split('\n')).filter((line) => line.trim().length >= 8),
  ]);
  const variables = desiredVariables({ ...secrets, settings: parseSettings(flags.set ?? []) });
  for (const secret of declared.filter((candidate) => !io.env[candidate.name])) {
    io.stdout.write(
      `${secret.name} is not set in the environment: not stored (${secret.unset ?? `declared by ${secret.apps.join(', ')}`})\n`,
    );
  }
  const client = connectToGitlab(io);
  const reports = [await syncVariables(client, project, variables)];
  if (flags['skip-protected-environments']) {
    io.stdout.write('protected environments: skipped (--skip-protected-environments)\n');
  } else {
    const apps = listAppDirectories(repoRoot);
    if (apps.length === 0) io.stdout.write('protected environments: no apps/* found, nothing to protect\n');
    reports.push(await protectProductionEnvironments(client, project, apps));
  }
  if (flags['skip-protected-tags']) io.stdout.write('protected tags: skipped (--skip-protected-tags)\n');
  else reports.push(await protectReleaseTags(client, project));
  if (flags['skip-schedule']) {
    io.stdout.write('pipeline schedule: skipped (--skip-schedule)\n');
  } else {
    const defaultBranch = expectShape(
      projectShape,
      await client.Projects.show(project),
      'GET /projects/:id',
    ).default_branch;
    if (!defaultBranch) {
      io.stdout.write('pipeline schedule: the project has no default branch yet (push one), not created\n');
    } else {
      const desired = defaultReconcileSchedule(defaultBranch);
      const schedule = await ensurePipelineSchedule(client, project, {
        ...desired,
        cron: scheduleCron ?? desired.cron,
      });
      reports.push({ lines: [schedule.line], changes: schedule.changed ? 1 : 0 });
    }
  }
  for (const line of reports.flatMap((report) => report.lines)) io.stdout.write(`${line}\n`);
  const changes = reports.reduce((sum, report) => sum + report.changes, 0);
  io.stdout.write(
    changes === 0 ? 'nothing changed: the project was already set up\n' : `${changes} change(s) applied\n`,
  );
  return 0;
}

/** Exit codes: 0 set up (or nothing to change), 1 a GitLab call failed, 2 usage or a value GitLab cannot mask. */
export const setupCommand: Command = {
  summary: "create or update the project's variables, protected environments and tags, and the schedule",
  run: setup,
};
