// `slipway plan`: which apps a change affects, as the YAML of a dynamic child pipeline (or the plan as JSON).
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { printUsage, type Command } from '../command-line/command';
import { CliUsageError, parseFlags } from '../command-line/flags';
import { createCommandIo, processStreams, type CommandIo } from '../command-line/io';
import {
  findAppsWithoutPipeline,
  type ChildPipelinePlan,
  planChildPipelines,
} from '../plan/plan-child-pipelines';
import { describeHead } from '../plan/commit-range';
import { renderChildPipeline } from '../plan/render-child-pipeline';
import { normaliseRevision } from '../plan/git';
import { findRepositoryRoot } from '../repo';

const USAGE = `usage: slipway plan [--base SHA] [--head SHA] [--out FILE] [--format yaml|json]

Decides which apps' pipelines run and prints a GitLab child pipeline with one trigger job per app
(passing its content key as SLIPWAY_CONTENT_KEY), or a no-op job when none runs; with --format json
the plan itself: [{"app", "path", "reason", "contentKey"}]. Every app's decision and its reason go
to stderr (the job log).

How it decides (from GitLab's predefined variables):
  tag (CI_COMMIT_TAG)            every app runs: its release copies the image of its content key
  default branch, schedule       an app runs when its content key has no image in the registry
                                 (SLIPWAY_IMAGE_REPOSITORY or CI_REGISTRY_IMAGE, + CI_REGISTRY_USER/PASSWORD),
                                 or when <APP>_STAGING_URL/version serves another contentKey; when
                                 neither can be asked, it falls back to the diff since the previous push
  merge request                  an app runs when the merge request changes it (a merged-results
                                 pipeline compares with CI_MERGE_REQUEST_TARGET_BRANCH_SHA)
  --base, other branches         an app runs when the change from base to head touches it

options:
  --base REV       compare with this commit (default: CI_MERGE_REQUEST_TARGET_BRANCH_SHA, else
                   CI_MERGE_REQUEST_DIFF_BASE_SHA, else CI_COMMIT_BEFORE_SHA unless all zeros, else
                   the merge base with origin/CI_DEFAULT_BRANCH); never starts with "-"
  --head REV       the change's last commit (default: CI_COMMIT_SHA, else HEAD)
  --out FILE       write the output to FILE instead of stdout; its directory must exist (else exit 2)
  --format FORMAT  yaml (default: the child pipeline) or json (the plan)

A previous push that is no longer an ancestor of head (force push) is compared tree to tree.
Shallow clones are deepened from origin until the base is reachable. Uncommitted changes in the work tree
count (turbo reads the files on disk), and the log says "<head> + working tree" then. Every CI_*_SHA variable must
be a full hex SHA. An image repository or environment URL with credentials (user:password@ or user@ before
the host) is a malformed variable, refused naming the variable, never its value: registry credentials belong in
CI_REGISTRY_USER and CI_REGISTRY_PASSWORD. Exit codes: 0 planned, 1 error (git, turbo, a malformed variable),
2 usage.`;

type OutputFormat = 'yaml' | 'json';

export interface PlanCommandOptions {
  base: string | undefined;
  head: string | undefined;
  out: string | undefined;
  format: OutputFormat;
}

export function parsePlanOptions(argv: string[]): PlanCommandOptions | 'help' {
  const { values } = parseFlags(
    argv,
    {
      base: { type: 'string' },
      head: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) return 'help';
  for (const flag of ['base', 'head', 'out'] as const) {
    const value = values[flag];
    if (value !== undefined && value.trim() === '')
      throw new CliUsageError(`--${flag} needs a value, got ""`);
  }
  let base: string | undefined;
  let head: string | undefined;
  try {
    // Checked in the form git would see, after trimming: " --upload-pack=…" is an option once trimmed.
    base = values.base === undefined ? undefined : normaliseRevision(values.base, '--base');
    head = values.head === undefined ? undefined : normaliseRevision(values.head, '--head');
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') {
    throw new CliUsageError(`--format must be yaml or json, got "${format}"`);
  }
  return { base, head, out: values.out, format };
}

function describePlan(plan: ChildPipelinePlan): string {
  const { range } = plan;
  const lines = [
    range
      ? `slipway plan (${plan.mode}): ${range.base?.slice(0, 12) ?? 'unknown base'}..${describeHead(range.head, range.workingTree)} (base: ${range.baseDescription})`
      : plan.mode === 'schedule'
        ? `slipway plan (schedule): drift report at ${describeHead(plan.head, plan.workingTree)}, one line per app`
        : `slipway plan (${plan.mode}): at ${describeHead(plan.head, plan.workingTree)}`,
  ];
  for (const decision of plan.decisions) {
    const key = decision.contentKey ? ` [content ${decision.contentKey}]` : '';
    lines.push(`  ${decision.run ? 'run ' : 'skip'}  ${decision.app}: ${decision.reason}${key}`);
  }
  if (plan.apps.length === 0) lines.push('  no app runs; the child pipeline holds a single no-op job');
  return `${lines.join('\n')}\n`;
}

/** Throws a usage error when the directory `--out` names does not exist or is not a directory. */
async function checkOutputDirectory(target: string, given: string): Promise<void> {
  const directory = dirname(target);
  const found = await stat(directory).catch(() => undefined);
  if (!found?.isDirectory()) {
    throw new CliUsageError(
      `--out ${given}: ${directory} ${found ? 'is not a directory' : 'does not exist'} (slipway plan writes the file, and creates no directory)`,
    );
  }
}

/** Exit codes: 0 planned, 1 error (git, turbo, a malformed variable, an affected app without a pipeline), 2 usage. */
export async function run(
  argv: string[],
  io: CommandIo = createCommandIo(processStreams()),
): Promise<number> {
  const options = parsePlanOptions(argv);
  if (options === 'help') return printUsage(io, USAGE);
  // Checked before any work: the plan writes the file, and a mistyped directory is a usage error, never created.
  const target = options.out === undefined ? undefined : resolve(io.cwd, options.out);
  if (target !== undefined) await checkOutputDirectory(target, options.out!);
  const repositoryRoot = findRepositoryRoot(io.cwd);
  const plan = await planChildPipelines({
    cwd: repositoryRoot,
    env: io.env,
    base: options.base,
    head: options.head,
    log: (line) => io.stderr.write(`slipway plan: ${line}\n`),
  });
  const withoutPipeline = findAppsWithoutPipeline(repositoryRoot, plan.apps);
  if (withoutPipeline.length > 0) {
    const paths = withoutPipeline.map((app) => `${app.path}/.gitlab-ci.yml`).join(', ');
    throw new Error(
      `affected apps have no pipeline file: ${paths} (each app needs apps/<app>/.gitlab-ci.yml; npm run new:service writes one)`,
    );
  }
  io.stderr.write(describePlan(plan));
  const output =
    options.format === 'json' ? `${JSON.stringify(plan.apps, null, 2)}\n` : renderChildPipeline(plan);
  if (target !== undefined) {
    await writeFile(target, output);
    io.stderr.write(`slipway plan: wrote ${options.out}\n`);
  } else {
    io.stdout.write(output);
  }
  return 0;
}

export const planCommand: Command = {
  summary: 'plan child pipelines for the apps a change affects',
  run,
};
