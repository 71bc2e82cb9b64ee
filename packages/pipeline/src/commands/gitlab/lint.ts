// `slipway gitlab lint`: GitLab's own CI lint on every pipeline file and template of the repository.
import { printUsage, type Command } from '../../command-line/command';
import { CliUsageError, parseFlags } from '../../command-line/flags';
import type { CommandIo } from '../../command-line/io';
import { collectLintTargets, lintTarget } from '../../gitlab/ci-lint';
import { findRepositoryRoot } from '../../repo';
import { connectToGitlab, PROJECT_OPTION, resolveProject } from './connection';

const USAGE = `usage: slipway gitlab lint [--project PATH|ID] [--ref REF] [--repo-root DIR]

Lints .gitlab-ci.yml, apps/*/.gitlab-ci.yml and ci-templates/*.yml (with sample inputs) with GitLab's CI lint API.
--ref lints against that branch (dry run) instead of the default branch; local includes are read from it.`;

async function lint(argv: string[], io: CommandIo): Promise<number> {
  const { values: flags } = parseFlags(
    argv,
    { ...PROJECT_OPTION, ref: { type: 'string' }, 'repo-root': { type: 'string' } },
    USAGE,
  );
  if (flags.help) return printUsage(io, USAGE);
  const project = resolveProject(flags.project, io.env);
  const repoRoot = findRepositoryRoot(io.cwd, flags['repo-root']);
  const targets = collectLintTargets(repoRoot);
  if (targets.length === 0) throw new CliUsageError(`no pipeline files found under ${repoRoot}`);
  const client = connectToGitlab(io);
  let invalid = 0;
  for (const target of targets) {
    const outcome = await lintTarget(client, project, target, flags.ref);
    if (!outcome.valid) invalid += 1;
    (outcome.valid ? io.stdout : io.stderr).write(`${outcome.lines.join('\n')}\n`);
  }
  io.stdout.write(`${targets.length - invalid}/${targets.length} file(s) valid\n`);
  return invalid === 0 ? 0 : 1;
}

/** Exit codes: 0 every file valid, 1 a file invalid or a GitLab call failed, 2 usage or nothing to lint. */
export const lintCommand: Command = {
  summary: "check the repository's pipeline files and templates with GitLab's CI lint",
  run: lint,
};
