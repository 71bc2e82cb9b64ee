// `slipway templates`: checks the CI templates and the pipelines that include them, and keeps the inputs tables of
// ci-templates/README.md generated from the templates' spec headers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printUsage, type Command } from '../command-line/command';
import { CliUsageError, parseFlags } from '../command-line/flags';
import { createCommandIo, processStreams, type CommandIo } from '../command-line/io';
import { findRepositoryRoot, listPipelineFiles, listTemplateFiles, TEMPLATES_DIRECTORY } from '../repo';
import { checkPipelineIncludes, relativeTo } from '../templates/check-pipeline';
import { checkTemplate } from '../templates/check-template';
import { renderInputTables } from '../templates/readme-tables';
import { parseInputArgument } from '../templates/template-inputs';
import { isTemplateText, parseCiDocuments, readTemplate, type CiTemplate } from '../templates/template-file';

const USAGE = `usage: slipway templates <command> [options]

commands:
  check [FILE...] [--input NAME=VALUE]...
      Checks templates (files with a "spec:" header): documented, typed inputs; no global keywords; a hidden
      .slipway-<template>-base job; jobs named from job-prefix, staged from stage, with rules; interruptible except
      deploys; pinned images; no literal main/master; no set -x; registry logins through --password-stdin.
      Checks pipelines (other .yml/.yaml files): the inputs they pass to ci-templates/*.yml, including options and
      regex. A FILE that is neither (package.json, say) is a usage error.
      --input gives inputs to the template FILEs, to check those values too.
      Without FILEs: every ci-templates/*.yml, .gitlab-ci.yml, apps/*/.gitlab-ci.yml, and the README tables.
  docs [--check]
      Rewrites the inputs tables in ci-templates/README.md from the spec headers; --check only reports drift.

options:
  --root DIR   repository root (default: the repository the working directory is in: git's top level, or
               outside git the nearest directory upwards that has ci-templates/)

exit codes: 0 ok, 1 problems found, 2 usage`;

/** Every template of the repository, keyed by file name (e.g. `deploy.yml`). */
function loadTemplates(root: string): Map<string, CiTemplate> {
  return new Map(
    listTemplateFiles(root).map((file) => [path.basename(file), readTemplate(path.join(root, file))]),
  );
}

function report(io: CommandIo, problems: string[], summary: string): number {
  for (const problem of problems) io.stderr.write(`${problem}\n`);
  if (problems.length > 0) {
    io.stderr.write(`templates: ${problems.length} problem(s)\n`);
    return 1;
  }
  io.stdout.write(`templates: ok: ${summary}\n`);
  return 0;
}

function readmeProblems(root: string, templates: Map<string, CiTemplate>): string[] {
  const readmePath = path.join(root, TEMPLATES_DIRECTORY, 'README.md');
  if (!existsSync(readmePath)) return ['ci-templates/README.md is missing'];
  const rendered = renderInputTables(readFileSync(readmePath, 'utf8'), templates);
  return [
    ...rendered.problems.map((problem) => `ci-templates/README.md: ${problem}`),
    ...rendered.changed.map(
      (file) =>
        `ci-templates/README.md: the inputs table of ${file} is out of date; run "slipway templates docs"`,
    ),
  ];
}

// GitLab includes files, templates among them, only with a .yml or .yaml extension
// (https://docs.gitlab.com/ci/yaml/#include); a pipeline is such a file too.
const CI_FILE_EXTENSION = /\.ya?ml$/i;

/** A pipeline's configuration (the last YAML document, after any `spec:` header) maps jobs and keywords. */
function isMapping(document: unknown): boolean {
  return typeof document === 'object' && document !== null && !Array.isArray(document);
}

export function checkFiles(root: string, files: string[], inputArguments: string[]): string[] {
  const templates = loadTemplates(root);
  const problems: string[] = [];
  const givenFiles = files.length > 0;
  const targets = givenFiles
    ? files.map((file) => path.resolve(file))
    : [...listTemplateFiles(root), ...listPipelineFiles(root)].map((file) => path.join(root, file));
  for (const file of targets) {
    if (!existsSync(file)) throw new CliUsageError(`${file}: no such file`);
    const name = relativeTo(root, file);
    const notCiFile = (why: string) =>
      new CliUsageError(
        `${name}: not a CI template (no "spec:" header) nor a pipeline (${why}); templates check takes CI templates and pipelines`,
      );
    if (givenFiles && !CI_FILE_EXTENSION.test(file)) throw notCiFile('a .yml or .yaml file');
    const text = readFileSync(file, 'utf8');
    const isTemplate = isTemplateText(text, file);
    if (givenFiles && !isTemplate && !isMapping(parseCiDocuments(text, file).at(-1))) {
      throw notCiFile('its YAML is not a mapping of jobs and keywords');
    }
    if (isTemplate) {
      const template = readTemplate(file);
      const provided =
        inputArguments.length > 0
          ? Object.fromEntries(inputArguments.map((argument) => parseInputArgument(template, argument)))
          : undefined;
      problems.push(...checkTemplate(template, provided).map((problem) => `${name}: ${problem}`));
    } else {
      problems.push(...checkPipelineIncludes(file, templates).map((problem) => `${name}: ${problem}`));
    }
  }
  if (!givenFiles) problems.push(...readmeProblems(root, templates));
  return problems;
}

/** Exit codes: 0 ok, 1 problems found, 2 usage. */
export async function run(
  argv: string[],
  io: CommandIo = createCommandIo(processStreams()),
): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    io.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const { values, positionals } = parseFlags(
    rest,
    {
      input: { type: 'string', multiple: true },
      check: { type: 'boolean' },
      root: { type: 'string' },
    },
    USAGE,
    true,
  );
  if (values.help) return printUsage(io, USAGE);
  const root = findRepositoryRoot(io.cwd, values.root);
  if (!existsSync(path.join(root, TEMPLATES_DIRECTORY)))
    throw new CliUsageError(`${root} has no ci-templates/ directory; pass --root`);

  if (command === 'check') {
    if (values.check) throw new CliUsageError('--check belongs to "templates docs"');
    for (const argument of values.input ?? []) {
      if (argument.indexOf('=') <= 0) throw new CliUsageError(`--input "${argument}" must be NAME=VALUE`);
    }
    if ((values.input ?? []).length > 0 && positionals.length === 0) {
      throw new CliUsageError('--input needs the template FILE(s) it applies to');
    }
    const problems = checkFiles(
      root,
      positionals.map((file) => path.resolve(io.cwd, file)),
      values.input ?? [],
    );
    const summary =
      positionals.length > 0 ? positionals.join(', ') : 'templates, pipelines and README tables';
    return report(io, problems, summary);
  }
  if (command === 'docs') {
    if (positionals.length > 0 || values.input)
      throw new CliUsageError(`"templates docs" takes no files or inputs`);
    const templates = loadTemplates(root);
    const readmePath = path.join(root, TEMPLATES_DIRECTORY, 'README.md');
    if (!existsSync(readmePath)) throw new CliUsageError(`${readmePath} is missing`);
    const rendered = renderInputTables(readFileSync(readmePath, 'utf8'), templates);
    if (values.check)
      return report(io, readmeProblems(root, templates), 'the README tables match the templates');
    if (rendered.problems.length > 0) return report(io, rendered.problems, '');
    if (rendered.changed.length > 0) writeFileSync(readmePath, rendered.text);
    io.stdout.write(
      rendered.changed.length > 0
        ? `templates docs: rewrote the tables of ${rendered.changed.join(', ')}\n`
        : 'templates docs: the README tables are up to date\n',
    );
    return 0;
  }
  throw new CliUsageError(`unknown templates command "${command}"\n\n${USAGE}`);
}

export const templatesCommand: Command = {
  summary: 'check the CI templates and the pipelines that include them; generate the README inputs tables',
  run,
};
