// `slipway plan`: which apps a change affects, as the YAML of a dynamic child pipeline (or the plan as JSON).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CliUsageError, parseFlags } from '../cli-errors';
import {
  findAppsWithoutPipeline,
  type ChildPipelinePlan,
  planChildPipelines,
} from '../plan/plan-child-pipelines';
import { renderChildPipeline } from '../plan/render-child-pipeline';
import { runGit } from '../plan/git';

const USAGE = `usage: slipway plan [--base SHA] [--head SHA] [--out FILE] [--format yaml|json]

Asks turbo which apps the change from base to head affects and prints a GitLab child pipeline
with one trigger job per affected app (or a no-op job when none is), or with --format json the plan
itself: [{"app", "path", "reason"}]. The plan and its reasons go to stderr (the job log).

options:
  --base SHA       compare with this commit (default: CI_MERGE_REQUEST_DIFF_BASE_SHA, else
                   CI_COMMIT_BEFORE_SHA unless all zeros, else the merge base with origin/CI_DEFAULT_BRANCH)
  --head SHA       the change's last commit (default: CI_COMMIT_SHA, else HEAD)
  --out FILE       write the output to FILE instead of stdout
  --format FORMAT  yaml (default: the child pipeline) or json (the plan)

Shallow clones are deepened from origin until the base is reachable.`;

type OutputFormat = 'yaml' | 'json';

export interface PlanCommandOptions {
  base: string | undefined;
  head: string | undefined;
  out: string | undefined;
  format: OutputFormat;
}

export function parsePlanOptions(argv: string[]): PlanCommandOptions | 'help' {
  const { values } = parseFlags(
    {
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        base: { type: 'string' },
        head: { type: 'string' },
        out: { type: 'string' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) return 'help';
  for (const flag of ['base', 'head', 'out'] as const) {
    const value = values[flag];
    if (value !== undefined && value.trim() === '')
      throw new CliUsageError(`--${flag} needs a value, got ""`);
    // A leading dash would let a commit argument pass as a git option.
    if (flag !== 'out' && value?.startsWith('-'))
      throw new CliUsageError(`--${flag} must be a commit, got "${value}"`);
  }
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') {
    throw new CliUsageError(`--format must be yaml or json, got "${format}"`);
  }
  return { base: values.base, head: values.head, out: values.out, format };
}

function describePlan(plan: ChildPipelinePlan): string {
  const { range } = plan;
  const lines = [
    `slipway plan: ${range.base?.slice(0, 12) ?? 'unknown base'}..${range.head.slice(0, 12)} (base: ${range.baseDescription})`,
  ];
  for (const app of plan.apps) lines.push(`  run   ${app.app}: ${app.reason}`);
  const planned = new Set(plan.apps.map((app) => app.app));
  for (const app of plan.allApps.filter((name) => !planned.has(name)))
    lines.push(`  skip  ${app}: not affected`);
  if (plan.apps.length === 0) lines.push('  no app is affected; the child pipeline holds a single no-op job');
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const options = parsePlanOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const repositoryRoot = await runGit(process.cwd(), ['rev-parse', '--show-toplevel']);
  const plan = await planChildPipelines({
    cwd: repositoryRoot,
    env: process.env,
    base: options.base,
    head: options.head,
    log: (line) => process.stderr.write(`slipway plan: ${line}\n`),
  });
  const withoutPipeline = findAppsWithoutPipeline(repositoryRoot, plan.apps);
  if (withoutPipeline.length > 0) {
    const paths = withoutPipeline.map((app) => `${app.path}/.gitlab-ci.yml`).join(', ');
    throw new Error(`affected apps have no pipeline file: ${paths} (copy apps/weather-app/.gitlab-ci.yml)`);
  }
  process.stderr.write(describePlan(plan));
  const output =
    options.format === 'json' ? `${JSON.stringify(plan.apps, null, 2)}\n` : renderChildPipeline(plan);
  if (options.out) {
    const target = resolve(process.cwd(), options.out);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output);
    process.stderr.write(`slipway plan: wrote ${options.out}\n`);
  } else {
    process.stdout.write(output);
  }
  return 0;
}
