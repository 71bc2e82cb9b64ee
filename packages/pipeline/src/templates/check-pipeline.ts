// Checks the inputs a pipeline file passes to the Slipway templates it includes, with the same rules GitLab applies
// when it creates the pipeline (including `regex`), so a bad input fails in the validate stage instead of on GitLab.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkTemplate } from './check-template';
import { includeInputs } from './template-inputs';
import { isRecord, parseCiDocuments, type CiTemplate } from './template-file';

/** The template an include entry points at: a `local:` path, or any include whose path ends in ci-templates/<name>.yml. */
function includedTemplateName(entry: Record<string, unknown>): string | undefined {
  const target = [entry.local, entry.file, entry.remote].find((value) => typeof value === 'string') as
    string | undefined;
  return target ? /(?:^|\/)ci-templates\/([A-Za-z0-9._-]+\.ya?ml)$/.exec(target)?.[1] : undefined;
}

function includeEntries(pipeline: Record<string, unknown>): Array<Record<string, unknown>> {
  const include = pipeline.include;
  const entries = Array.isArray(include) ? include : include === undefined ? [] : [include];
  return entries.map((entry) => (typeof entry === 'string' ? { local: entry } : entry)).filter(isRecord);
}

/**
 * Problems with the inputs `pipelineFile` passes to `templates` (keyed by file name, e.g. `deploy.yml`): unknown,
 * missing or mistyped inputs, values outside `options` or `regex`, unpinned images passed as inputs.
 */
export function checkPipelineIncludes(pipelineFile: string, templates: Map<string, CiTemplate>): string[] {
  const documents = parseCiDocuments(readFileSync(pipelineFile, 'utf8'), pipelineFile);
  const pipeline = documents.at(-1);
  if (!isRecord(pipeline)) return [];
  const problems: string[] = [];
  for (const [index, entry] of includeEntries(pipeline).entries()) {
    const name = includedTemplateName(entry);
    const template = name ? templates.get(name) : undefined;
    if (!template) continue;
    const ownProblems = new Set(checkTemplate(template));
    for (const problem of checkTemplate(template, includeInputs(entry))) {
      if (!ownProblems.has(problem)) problems.push(`include[${index}] ${name}: ${problem}`);
    }
  }
  return problems;
}

export function relativeTo(root: string, file: string): string {
  return path.relative(root, file) || file;
}
