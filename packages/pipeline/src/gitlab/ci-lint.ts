// `slipway gitlab lint`: GitLab's own CI lint on every pipeline file of the repo. Templates cannot be linted
// alone (they need inputs), so each is wrapped in a small pipeline that includes it with sample inputs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { listPipelineFiles, listTemplateFiles } from '../repo';
import { withSampleInputs } from '../templates/sample-inputs';
import { parseTemplateInputs } from '../templates/template-file';
import { lintShape } from './api-shapes';
import { expectShape, type GitlabClient } from './gitlab-client';
import type { ProjectRef } from './pipeline-tree';

export interface LintTarget {
  /** Repository-relative file the result is reported against. */
  file: string;
  content: string;
}

// GitLab's default stages (.pre and .post are implicit); a wrapper declares them plus any stage a template asks for.
const DEFAULT_STAGES = ['build', 'test', 'deploy'];

/** A pipeline that includes the template with a value for every input that has no default. */
export function templateLintWrapper(templateFile: string, templateSource: string): string {
  const specs = parseTemplateInputs(templateSource, templateFile);
  const values = withSampleInputs(specs);
  const inputs = Object.fromEntries(
    Object.entries(values).filter(([name]) => specs[name]?.default === undefined),
  );
  const stages = new Set(DEFAULT_STAGES);
  for (const [name, value] of Object.entries(values)) {
    if ((name === 'stage' || name.endsWith('-stage')) && typeof value === 'string') stages.add(value);
  }
  const include: Record<string, unknown> = { local: templateFile };
  if (Object.keys(inputs).length > 0) include.inputs = inputs;
  return stringify({ stages: [...stages], include: [include] });
}

/** The repository's pipeline files, and each of its templates wrapped with sample inputs (repo/ lists them). */
export function collectLintTargets(repoRoot: string): LintTarget[] {
  const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
  return [
    ...listPipelineFiles(repoRoot).map((file) => ({ file, content: read(file) })),
    ...listTemplateFiles(repoRoot).map((file) => ({ file, content: templateLintWrapper(file, read(file)) })),
  ];
}

/** "file:line:column: message" when GitLab names a position, else "file: message". */
export function formatLintMessage(file: string, message: string): string {
  const position = /line (\d+)(?: column (\d+))?/i.exec(message);
  if (!position) return `${file}: ${message}`;
  return `${file}:${position[1]}${position[2] ? `:${position[2]}` : ''}: ${message}`;
}

export interface LintOutcome {
  file: string;
  valid: boolean;
  lines: string[];
}

export async function lintTarget(
  client: GitlabClient,
  project: ProjectRef,
  target: LintTarget,
  ref: string | undefined,
): Promise<LintOutcome> {
  // Without dry_run GitLab ignores ref and resolves `include: local` on the default branch.
  const result = expectShape(
    lintShape,
    await client.Lint.lint(project, target.content, {
      includeJobs: true,
      ...(ref ? { ref, dryRun: true } : {}),
    }),
    'POST /projects/:id/ci/lint',
  );
  const errors = (result.errors ?? []).map((error) => `  error   ${formatLintMessage(target.file, error)}`);
  const warnings = (result.warnings ?? []).map(
    (warning) => `  warning ${formatLintMessage(target.file, warning)}`,
  );
  const jobCount = Array.isArray(result.jobs) ? result.jobs.length : undefined;
  const head = result.valid
    ? `✔ ${target.file}: valid${jobCount !== undefined ? ` (${jobCount} job${jobCount === 1 ? '' : 's'})` : ''}`
    : `✖ ${target.file}: invalid`;
  return { file: target.file, valid: result.valid, lines: [head, ...errors, ...warnings] };
}
