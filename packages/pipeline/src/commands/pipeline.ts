// `slipway pipeline local`: the repository's parent pipeline, run on this machine by gitlab-ci-local.
import { printUsage, type Command, type CommandGroup } from '../command-line/command';
import { CliUsageError, parseFlags } from '../command-line/flags';
import type { CommandIo } from '../command-line/io';
import {
  removeLocalPipelineWorkDir,
  runParentPipelineLocally,
} from '../local-pipeline/run-parent-pipeline-locally';
import { findRepositoryRoot } from '../repo';

const USAGE = `usage: slipway pipeline local [--repo-root DIR] [--default-branch NAME] [--tag TAG]
                             [--variable NAME=VALUE]...

Runs the parent pipeline (.gitlab-ci.yml) of the repository's committed HEAD with gitlab-ci-local in a temporary
clone, shell executor: validate, plan, and the planned apps' child pipelines up to their tests (build, scan,
release and deploy need a registry and deploy targets, so SLIPWAY_DELIVERY_DISABLED is set). Uncommitted changes
are not part of the run. On the default branch (or a detached HEAD) it runs as a push to the default branch; on
any other branch as a merge request into it; with --tag as the pipeline of that tag on HEAD.

options:
  --repo-root DIR        the repository (default: the one the working directory is in)
  --default-branch NAME  the branch a merge request targets and a push runs as (default main)
  --tag TAG              run as the pipeline GitLab creates when TAG is pushed on HEAD
  --variable NAME=VALUE  a project CI/CD variable, e.g. SLIPWAY_INTEGRATION_DISABLED=true; repeatable

Prints gitlab-ci-local's output, then "slipway pipeline: pipeline passed: <jobs>" or "pipeline failed: <jobs>".
A passed run's clone is removed; a failed run's clone is kept for inspection and its path printed.
Exit codes: 0 every job passed, 1 a job failed or the run could not start, 2 usage.`;

// A CI/CD variable name (https://docs.gitlab.com/ci/variables/#add-a-cicd-variable-to-a-project).
const VARIABLE_ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

function parseVariables(assignments: string[]): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const assignment of assignments) {
    const match = VARIABLE_ASSIGNMENT.exec(assignment);
    if (!match) {
      throw new CliUsageError(
        `--variable expects NAME=VALUE with a variable name as NAME, got "${assignment}"`,
      );
    }
    variables[match[1]!] = match[2]!;
  }
  return variables;
}

// A tag or branch name as git allows it in a ref (git-check-ref-format(1)), never an option.
function checkRefName(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (value === '' || value.startsWith('-') || /[\s\x00-\x1f\x7f~^:?*[\\]|\.\.|@\{/.test(value)) {
    throw new CliUsageError(`--${flag} must be a branch or tag name, got "${value}"`);
  }
  return value;
}

async function runLocal(argv: string[], io: CommandIo): Promise<number> {
  const { values: flags } = parseFlags(
    argv,
    {
      'repo-root': { type: 'string' },
      'default-branch': { type: 'string' },
      tag: { type: 'string' },
      variable: { type: 'string', multiple: true },
    },
    USAGE,
  );
  if (flags.help) return printUsage(io, USAGE);
  const variables = parseVariables(flags.variable ?? []);
  const defaultBranch = checkRefName('default-branch', flags['default-branch']);
  const tag = checkRefName('tag', flags.tag);
  const result = await runParentPipelineLocally({
    repositoryRoot: findRepositoryRoot(io.cwd, flags['repo-root']),
    output: io.stdout,
    variables,
    ...(defaultBranch !== undefined && { defaultBranch }),
    ...(tag !== undefined && { tag }),
  });
  // A passed run's clone holds every installed workspace; a failed one is kept for inspection.
  if (result.passed) removeLocalPipelineWorkDir(result.workDir);
  else io.stdout.write(`slipway pipeline: the clone stays in ${result.workDir} for inspection\n`);
  return result.passed ? 0 : 1;
}

const localCommand: Command = {
  summary: 'run the parent pipeline on this machine with gitlab-ci-local (npm run pipeline)',
  run: runLocal,
};

export const pipelineCommands: CommandGroup = {
  summary: 'run the parent pipeline on this machine (local)',
  subcommands: { local: localCommand },
};
