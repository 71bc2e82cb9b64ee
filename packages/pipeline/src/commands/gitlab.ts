// `slipway gitlab <setup|lint|run|promote>`: drive a GitLab project through the API. GITLAB_HOST and
// GITLAB_TOKEN come from the environment; every line this command prints passes through maskSecrets.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { type ParseArgsConfig } from 'node:util';
import { CliUsageError, parseFlags } from '../cli-errors';
import { collectLintTargets, lintTarget } from '../gitlab/ci-lint';
import { pipelineShape, projectShape } from '../gitlab/api-shapes';
import { followPipeline, summarizeFollow } from '../gitlab/follow-pipeline';
import {
  createGitlabClient,
  expectShape,
  GitlabApiError,
  gitlabConnectionFromEnv,
  maskSecrets,
  type GitlabClient,
  type RetryPolicy,
} from '../gitlab/gitlab-client';
import { loadPipelineTree, type ProjectRef } from '../gitlab/pipeline-tree';
import {
  chooseProductionJob,
  describePlayFailure,
  findImageDigest,
  followJob,
  StagingNotFinishedError,
} from '../gitlab/promote';
import { defaultReconcileSchedule, ensurePipelineSchedule } from '../gitlab/pipeline-schedule';
import {
  desiredVariables,
  protectProductionEnvironments,
  protectReleaseTags,
  RELEASE_TAG_WILDCARD,
  syncVariables,
} from '../gitlab/setup-project';
import { declaredSecrets, readRepositoryApps } from '../repo/apps';
import type { Writable } from '../gitlab/progress-display';

export interface GitlabCommandIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: Writable;
  stderr: Writable;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  retryPolicy?: Partial<RetryPolicy>;
  /** Injectable for tests: the pause between polls of `run` and `promote`. */
  sleep?: (ms: number) => Promise<void>;
}

interface Context {
  io: GitlabCommandIo;
  out: Writable;
  err: Writable;
  /** Values that must never be printed; grows as the command reads secrets. */
  secrets: string[];
  client: () => GitlabClient;
}

const COMMON_OPTIONS = {
  project: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

const USAGE = {
  setup: `usage: slipway gitlab setup [--project PATH|ID] [--set KEY=VALUE]... [--registry-auth-file FILE]
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
it is rewritten). GITLAB_HOST must be https, or loopback; SLIPWAY_GITLAB_ALLOW_HTTP=true allows plain http.`,
  lint: `usage: slipway gitlab lint [--project PATH|ID] [--ref REF] [--repo-root DIR]

Lints .gitlab-ci.yml, apps/*/.gitlab-ci.yml and ci-templates/*.yml (with sample inputs) with GitLab's CI lint API.
--ref lints against that branch (dry run) instead of the default branch; local includes are read from it.`,
  run: `usage: slipway gitlab run --ref REF [--project PATH|ID] [--interval SECONDS] [--timeout SECONDS]

Creates a pipeline for REF and follows it and its child pipelines until nothing moves without someone acting:
they finished, or they wait at a manual gate (then it prints the promote command). Exits 0 when nothing failed
(also at a gate), 1 when a pipeline failed or --timeout (default 3600 s) ran out.`,
  promote: `usage: slipway gitlab promote [--pipeline ID | --ref REF] [--app NAME] [--yes] [--wait] [--project PATH|ID]
                             [--dotenv PATH] [--interval SECONDS] [--timeout SECONDS]

Finds the manual production deploy job (of pipeline ID, or the latest pipeline of REF or the default branch),
shows the commit and image digest it deploys, asks for confirmation (--yes skips), plays it and follows it.
--wait first follows the pipeline until staging has finished and the gate waits (otherwise promote says
staging has not finished and exits 1). --dotenv names the build job's dotenv file holding IMAGE_DIGEST
(default slipway-build.env); when it is not a plain artifact, the digest is read from the build job's log.
Exits 0 when the production deploy succeeded, 1 otherwise, 2 on a usage error.`,
} as const;

type Subcommand = keyof typeof USAGE;

function parseSubcommandFlags<O extends ParseArgsConfig['options']>(
  sub: Subcommand,
  argv: string[],
  options: O,
) {
  return parseFlags(
    {
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      strict: true,
      allowPositionals: false,
    },
    USAGE[sub],
  ).values;
}

function resolveProject(flag: string | undefined, env: NodeJS.ProcessEnv): ProjectRef {
  const project = flag ?? env.CI_PROJECT_PATH ?? env.CI_PROJECT_ID;
  if (!project)
    throw new CliUsageError('no project: pass --project GROUP/NAME (or its ID), or set CI_PROJECT_PATH');
  return /^\d+$/.test(project) ? Number(project) : project;
}

function parseSeconds(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) {
    throw new CliUsageError(`--${flag} must be a positive number of seconds, got "${raw}"`);
  }
  return Number(raw);
}

function findRepoRoot(flag: string | undefined, cwd: string): string {
  if (flag) return path.resolve(cwd, flag);
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return cwd;
  }
}

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

/** The values of the apps' declared secrets in this environment, masked in all output; none outside a repo. */
function declaredSecretValues(io: GitlabCommandIo): Array<string | undefined> {
  try {
    return declaredSecrets(readRepositoryApps(findRepoRoot(undefined, io.cwd))).map((s) => io.env[s.name]);
  } catch {
    return [];
  }
}

function listApps(repoRoot: string): string[] {
  const appsDir = path.join(repoRoot, 'apps');
  try {
    return readdirSync(appsDir)
      .filter((name) => statSync(path.join(appsDir, name)).isDirectory())
      .sort();
  } catch {
    return [];
  }
}

async function setup(ctx: Context, argv: string[]): Promise<number> {
  const flags = parseSubcommandFlags('setup', argv, {
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
  });
  if (flags.help) return usage(ctx, 'setup');
  const project = resolveProject(flags.project, ctx.io.env);
  const scheduleCron = parseCron(flags['schedule-cron']);
  if (scheduleCron !== undefined && flags['skip-schedule']) {
    throw new CliUsageError('--schedule-cron and --skip-schedule exclude each other');
  }
  const declared = declaredSecrets(readRepositoryApps(findRepoRoot(flags['repo-root'], ctx.io.cwd)));
  const secrets = {
    appSecrets: declared.flatMap((secret) => {
      const value = ctx.io.env[secret.name];
      if (!value) return [];
      const declaredBy = secret.apps.map((app) => `apps/${app}/package.json`).join(', ');
      return [{ key: secret.name, value, environments: secret.environments, declaredBy }];
    }),
    notifyWebhookUrl: ctx.io.env.SLIPWAY_NOTIFY_WEBHOOK_URL || undefined,
    registryAuth: readSecretFile('registry-auth-file', flags['registry-auth-file'], ctx.io.cwd),
    kubeconfig: readSecretFile('kubeconfig-file', flags['kubeconfig-file'], ctx.io.cwd),
    sshPrivateKey: readSecretFile('ssh-key-file', flags['ssh-key-file'], ctx.io.cwd),
    sshKnownHosts: readSecretFile('ssh-known-hosts-file', flags['ssh-known-hosts-file'], ctx.io.cwd),
  };
  // Multi-line files are masked line by line too: a single line of a key must not leak on its own.
  const secretValues = [
    ...secrets.appSecrets.map((secret) => secret.value),
    ...Object.values(secrets).filter((value): value is string => typeof value === 'string' && value !== ''),
  ];
  ctx.secrets.push(
    ...secretValues,
    ...secretValues.flatMap((value) => value.split('\n')).filter((line) => line.trim().length >= 8),
  );
  const variables = desiredVariables({ ...secrets, settings: parseSettings(flags.set ?? []) });
  for (const secret of declared.filter((candidate) => !ctx.io.env[candidate.name])) {
    ctx.out.write(
      `${secret.name} is not set in the environment: not stored (${secret.unset ?? `declared by ${secret.apps.join(', ')}`})\n`,
    );
  }
  const client = ctx.client();
  const reports = [await syncVariables(client, project, variables)];
  if (flags['skip-protected-environments']) {
    ctx.out.write('protected environments: skipped (--skip-protected-environments)\n');
  } else {
    const apps = listApps(findRepoRoot(flags['repo-root'], ctx.io.cwd));
    if (apps.length === 0) ctx.out.write('protected environments: no apps/* found, nothing to protect\n');
    reports.push(await protectProductionEnvironments(client, project, apps));
  }
  if (flags['skip-protected-tags']) ctx.out.write('protected tags: skipped (--skip-protected-tags)\n');
  else reports.push(await protectReleaseTags(client, project));
  if (flags['skip-schedule']) {
    ctx.out.write('pipeline schedule: skipped (--skip-schedule)\n');
  } else {
    const defaultBranch = expectShape(
      projectShape,
      await client.Projects.show(project),
      'GET /projects/:id',
    ).default_branch;
    if (!defaultBranch) {
      ctx.out.write('pipeline schedule: the project has no default branch yet (push one), not created\n');
    } else {
      const desired = defaultReconcileSchedule(defaultBranch);
      const schedule = await ensurePipelineSchedule(client, project, {
        ...desired,
        cron: scheduleCron ?? desired.cron,
      });
      reports.push({ lines: [schedule.line], changes: schedule.changed ? 1 : 0 });
    }
  }
  for (const line of reports.flatMap((report) => report.lines)) ctx.out.write(`${line}\n`);
  const changes = reports.reduce((sum, report) => sum + report.changes, 0);
  ctx.out.write(
    changes === 0 ? 'nothing changed: the project was already set up\n' : `${changes} change(s) applied\n`,
  );
  return 0;
}

async function lint(ctx: Context, argv: string[]): Promise<number> {
  const flags = parseSubcommandFlags('lint', argv, {
    ref: { type: 'string' },
    'repo-root': { type: 'string' },
  });
  if (flags.help) return usage(ctx, 'lint');
  const project = resolveProject(flags.project, ctx.io.env);
  const repoRoot = findRepoRoot(flags['repo-root'], ctx.io.cwd);
  const targets = collectLintTargets(repoRoot);
  if (targets.length === 0) throw new CliUsageError(`no pipeline files found under ${repoRoot}`);
  const client = ctx.client();
  let invalid = 0;
  for (const target of targets) {
    const outcome = await lintTarget(client, project, target, flags.ref);
    if (!outcome.valid) invalid += 1;
    (outcome.valid ? ctx.out : ctx.err).write(`${outcome.lines.join('\n')}\n`);
  }
  ctx.out.write(`${targets.length - invalid}/${targets.length} file(s) valid\n`);
  return invalid === 0 ? 0 : 1;
}

async function runPipeline(ctx: Context, argv: string[]): Promise<number> {
  const flags = parseSubcommandFlags('run', argv, {
    ref: { type: 'string' },
    interval: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (flags.help) return usage(ctx, 'run');
  if (!flags.ref) throw new CliUsageError(`--ref is required\n\n${USAGE.run}`);
  const project = resolveProject(flags.project, ctx.io.env);
  const intervalSeconds = parseSeconds('interval', flags.interval, 5);
  const timeoutSeconds = parseSeconds('timeout', flags.timeout, 3600);
  const client = ctx.client();
  const pipeline = expectShape(
    pipelineShape,
    await client.Pipelines.create(project, flags.ref).catch((error: unknown) => {
      throw describeCreateFailure(error, flags.ref!);
    }),
    'POST /projects/:id/pipeline',
  );
  ctx.out.write(`created pipeline #${pipeline.id} for ${flags.ref}: ${pipeline.web_url}\n`);
  const result = await followPipeline(client, project, pipeline.id, ctx.out, {
    intervalMs: intervalSeconds * 1000,
    timeoutMs: timeoutSeconds * 1000,
    sleep: ctx.io.sleep,
  });
  const summary = summarizeFollow(result, timeoutSeconds);
  (summary.exitCode === 0 ? ctx.out : ctx.err).write(`${summary.lines.join('\n')}\n`);
  return summary.exitCode;
}

/** POST /pipeline answers 400 when workflow:rules create no pipeline for the ref, or the ref does not exist. */
function describeCreateFailure(error: unknown, ref: string): unknown {
  if (!(error instanceof GitlabApiError) || error.status !== 400) return error;
  if (/workflow rules/i.test(error.detail ?? '')) {
    return new GitlabApiError(
      `GitLab created no pipeline for ${ref}: the project's workflow:rules filter it out ` +
        '(https://docs.gitlab.com/ci/yaml/workflow/); run a branch or tag they accept, e.g. the default branch',
      400,
      error.detail,
    );
  }
  if (/reference not found/i.test(error.detail ?? '')) {
    return new GitlabApiError(`GitLab has no branch or tag named ${ref}; push it first`, 400, error.detail);
  }
  return error;
}

/**
 * GET /pipelines/latest answers 403 (not 404) when the ref's latest commit has no pipeline
 * (https://docs.gitlab.com/api/pipelines/#get-the-latest-pipeline), so a 403 there is not the token's fault.
 */
async function latestPipelineId(client: GitlabClient, project: ProjectRef, ref: string): Promise<number> {
  try {
    return expectShape(
      pipelineShape,
      await client.Pipelines.showLatest(project, { ref }),
      'GET /projects/:id/pipelines/latest',
    ).id;
  } catch (error) {
    if (error instanceof GitlabApiError && (error.status === 403 || error.status === 404)) {
      throw new GitlabApiError(
        `the latest commit on ${ref} has no pipeline (GitLab answered HTTP ${error.status} for the latest pipeline): ` +
          `start one with: slipway gitlab run --ref ${ref}, or pass --pipeline ID`,
        error.status,
        error.detail,
      );
    }
    throw error;
  }
}

async function confirm(ctx: Context, question: string): Promise<boolean> {
  // terminal: false keeps readline from driving the cursor of a stream it only sees through the masking writer.
  const prompt = createInterface({
    input: ctx.io.stdin,
    output: ctx.out as NodeJS.WritableStream,
    terminal: false,
  });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}

async function promote(ctx: Context, argv: string[]): Promise<number> {
  const flags = parseSubcommandFlags('promote', argv, {
    pipeline: { type: 'string' },
    ref: { type: 'string' },
    app: { type: 'string' },
    yes: { type: 'boolean' },
    wait: { type: 'boolean' },
    dotenv: { type: 'string' },
    interval: { type: 'string' },
    timeout: { type: 'string' },
  });
  if (flags.help) return usage(ctx, 'promote');
  const project = resolveProject(flags.project, ctx.io.env);
  if (flags.pipeline !== undefined && !/^\d+$/.test(flags.pipeline)) {
    throw new CliUsageError(`--pipeline must be a pipeline ID (a number), got "${flags.pipeline}"`);
  }
  if (flags.pipeline !== undefined && flags.ref !== undefined)
    throw new CliUsageError('pass either --pipeline or --ref, not both');
  // Checked before any API call: without a terminal nobody can answer, and production is not deployed by default.
  if (!flags.yes && !ctx.io.stdin.isTTY) {
    throw new CliUsageError(
      'refusing to deploy to production without confirmation: stdin is not a terminal; pass --yes to confirm',
    );
  }
  const intervalMs = parseSeconds('interval', flags.interval, 5) * 1000;
  const timeoutMs = parseSeconds('timeout', flags.timeout, 3600) * 1000;
  const client = ctx.client();
  let pipelineId = flags.pipeline === undefined ? undefined : Number(flags.pipeline);
  if (pipelineId === undefined) {
    const ref =
      flags.ref ??
      expectShape(projectShape, await client.Projects.show(project), 'GET /projects/:id').default_branch;
    if (!ref) throw new GitlabApiError('the project has no default branch yet: pass --ref or --pipeline');
    pipelineId = await latestPipelineId(client, project, ref);
    ctx.out.write(`latest pipeline on ${ref}: #${pipelineId}\n`);
  }
  let tree = await loadPipelineTree(client, project, pipelineId);
  let candidate;
  try {
    candidate = chooseProductionJob(tree, flags.app);
  } catch (error) {
    if (!(error instanceof StagingNotFinishedError && flags.wait)) throw error;
    ctx.out.write(`staging has not finished: following pipeline #${pipelineId} until the gate waits\n`);
    const followed = await followPipeline(client, project, pipelineId, ctx.out, {
      intervalMs,
      timeoutMs,
      sleep: ctx.io.sleep,
    });
    tree = followed.tree;
    if (followed.timedOut) {
      throw new GitlabApiError(
        `gave up after ${timeoutMs / 1000}s: pipeline #${pipelineId} is still ${tree.status}, no production gate yet`,
      );
    }
    candidate = chooseProductionJob(tree, flags.app);
  }
  const digest = await findImageDigest(
    client,
    project,
    candidate.pipeline,
    flags.dotenv ?? 'slipway-build.env',
  );
  ctx.out.write(
    [
      `about to deploy ${candidate.app} to production:`,
      `  job:          ${candidate.job.name} (#${candidate.job.id}) in pipeline #${candidate.pipeline.id}`,
      `  commit:       ${candidate.pipeline.sha} (${candidate.pipeline.ref})`,
      `  image digest: ${digest.digest ? `${digest.digest} (${digest.note})` : digest.note}`,
      '',
    ].join('\n'),
  );
  if (!flags.yes && !(await confirm(ctx, 'Deploy to production? [y/N] '))) {
    ctx.out.write('not deployed: cancelled at the prompt\n');
    return 1;
  }
  await client.Jobs.play(project, candidate.job.id).catch((error: unknown) => {
    throw describePlayFailure(error, candidate);
  });
  const status = await followJob(client, project, candidate.job.id, (line) => ctx.out.write(`${line}\n`), {
    intervalMs,
    timeoutMs,
    sleep: ctx.io.sleep,
  });
  if (status === 'success') {
    ctx.out.write(`deployed ${candidate.app} to production\n`);
    return 0;
  }
  ctx.err.write(`production deploy of ${candidate.app} did not succeed: ${status}\n`);
  return 1;
}

function usage(ctx: Context, sub: Subcommand): number {
  ctx.out.write(`${USAGE[sub]}\n`);
  return 0;
}

const SUBCOMMANDS: Record<Subcommand, (ctx: Context, argv: string[]) => Promise<number>> = {
  setup,
  lint,
  run: runPipeline,
  promote,
};

function maskingWriter(target: Writable, secrets: string[]): Writable {
  return {
    isTTY: target.isTTY,
    write: (text: string) => target.write(maskSecrets(String(text), secrets)),
  };
}

export async function runGitlabCommand(argv: string[], io: GitlabCommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  const overview = `usage: slipway gitlab <${Object.keys(SUBCOMMANDS).join('|')}> [options]; add --help to a subcommand for its options`;
  if (!sub || sub === '--help' || sub === '-h') {
    io.stdout.write(`${overview}\n`);
    return sub ? 0 : 2;
  }
  if (!(sub in SUBCOMMANDS)) throw new CliUsageError(`unknown subcommand "${sub}"\n${overview}`);
  const secrets = [
    io.env.GITLAB_TOKEN,
    io.env.SLIPWAY_NOTIFY_WEBHOOK_URL,
    ...declaredSecretValues(io),
  ].filter((value): value is string => Boolean(value));
  const ctx: Context = {
    io,
    secrets,
    out: maskingWriter(io.stdout, secrets),
    err: maskingWriter(io.stderr, secrets),
    client: () => createGitlabClient(gitlabConnectionFromEnv(io.env), io.retryPolicy),
  };
  try {
    return await SUBCOMMANDS[sub as Subcommand](ctx, rest);
  } catch (error) {
    const message = maskSecrets(error instanceof Error ? error.message : String(error), secrets);
    if (error instanceof CliUsageError) throw new CliUsageError(message);
    ctx.err.write(`slipway gitlab ${sub}: ${message}\n`);
    return 1;
  }
}

export function run(argv: string[]): Promise<number> {
  return runGitlabCommand(argv, {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  });
}
