// `slipway gitlab lint`: GitLab's own CI lint on every pipeline file of the repo. Templates cannot be linted
// alone (they need inputs), so each is wrapped in a small pipeline that includes it with sample inputs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { lintShape } from './api-shapes';
import { expectShape, type GitlabClient } from './gitlab-client';
import type { ProjectRef } from './pipeline-tree';

export interface LintTarget {
  /** Repository-relative file the result is reported against. */
  file: string;
  content: string;
}

interface TemplateInput {
  default?: unknown;
  type?: 'string' | 'number' | 'boolean' | 'array';
  options?: unknown[];
  regex?: string;
}

// GitLab's default stages (.pre and .post are implicit); a wrapper declares them plus any stage a template asks for.
const DEFAULT_STAGES = ['build', 'test', 'deploy'];

// Values a consumer of the Slipway templates would pass; the first that satisfies an input's regex is used.
// A made-up app, so the templates are linted as any consumer would include them, whatever apps this repo has.
const SAMPLE_STRINGS: Record<string, string> = {
  'app-name': 'sample-app',
  'job-prefix': 'sample-app',
  'app-path': 'apps/sample-app',
  environment: 'staging',
  url: 'https://sample-app-staging.example.com',
};
const FALLBACK_STRINGS = ['sample-app', 'apps/sample-app', 'https://example.com', 'staging', 'sample'];

function sampleValue(name: string, input: TemplateInput): unknown {
  if (input.options?.length) return input.options[0];
  switch (input.type) {
    case 'boolean':
      return true;
    case 'number':
      return 1;
    case 'array':
      return [];
    default: {
      const candidates = [SAMPLE_STRINGS[name], ...FALLBACK_STRINGS].filter(
        (c): c is string => c !== undefined,
      );
      if (!input.regex) return candidates[0];
      // GitLab checks inputs with RE2; for these simple patterns JavaScript agrees.
      const pattern = new RegExp(input.regex);
      return candidates.find((candidate) => pattern.test(candidate)) ?? candidates[0];
    }
  }
}

/** A pipeline that includes the template with a value for every input that has no default. */
export function templateLintWrapper(templateFile: string, templateSource: string): string {
  const [first] = parseAllDocuments(templateSource);
  const spec = (first?.toJS() as { spec?: { inputs?: Record<string, TemplateInput | null> } } | undefined)
    ?.spec;
  const inputs: Record<string, unknown> = {};
  const stages = new Set(DEFAULT_STAGES);
  for (const [name, rawInput] of Object.entries(spec?.inputs ?? {})) {
    const input = rawInput ?? {};
    const value = input.default !== undefined ? input.default : sampleValue(name, input);
    if (input.default === undefined) inputs[name] = value;
    if ((name === 'stage' || name.endsWith('-stage')) && typeof value === 'string') stages.add(value);
  }
  const include: Record<string, unknown> = { local: templateFile };
  if (Object.keys(inputs).length > 0) include.inputs = inputs;
  return stringify({ stages: [...stages], include: [include] });
}

/** .gitlab-ci.yml, each apps/<app>/.gitlab-ci.yml, and each ci-templates/*.yml wrapped with sample inputs. */
export function collectLintTargets(repoRoot: string): LintTarget[] {
  const targets: LintTarget[] = [];
  const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
  if (existsSync(path.join(repoRoot, '.gitlab-ci.yml')))
    targets.push({ file: '.gitlab-ci.yml', content: read('.gitlab-ci.yml') });
  const listDir = (dir: string) =>
    existsSync(path.join(repoRoot, dir)) ? readdirSync(path.join(repoRoot, dir)).sort() : [];
  for (const app of listDir('apps')) {
    const file = `apps/${app}/.gitlab-ci.yml`;
    if (existsSync(path.join(repoRoot, file))) targets.push({ file, content: read(file) });
  }
  for (const name of listDir('ci-templates').filter((n) => n.endsWith('.yml'))) {
    const file = `ci-templates/${name}`;
    targets.push({ file, content: templateLintWrapper(file, read(file)) });
  }
  return targets;
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
