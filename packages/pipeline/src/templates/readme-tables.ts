// The generated parts of ci-templates/README.md: the inputs tables, from the templates' `spec: inputs:` headers (each
// between `<!-- slipway:inputs <file> -->` and `<!-- /slipway:inputs -->`), and copies of repository files the README
// shows as they are (between `<!-- slipway:file <path> -->` and `<!-- /slipway:file -->`, for example
// apps/weather-app/.gitlab-ci.yml). Everything else in the README is prose that people write, and is left alone.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CiTemplate, InputSpec } from './template-file';

const START = /<!-- slipway:inputs ([A-Za-z0-9._-]+) -->/g;
const END = '<!-- /slipway:inputs -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function code(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === '') return "`''`";
  // A backtick inside the value needs a longer fence around it.
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function allowed(spec: InputSpec): string {
  if (Array.isArray(spec.options)) return spec.options.map(code).join(', ');
  if (typeof spec.regex === 'string') return `regex ${code(spec.regex)}`;
  return '';
}

/** One markdown table: every input of the template, in the order the header declares them. */
export function renderInputTable(template: CiTemplate): string {
  const rows = Object.entries(template.inputs).map(([name, spec]) =>
    [
      code(name),
      String(spec.type ?? 'string'),
      spec.default === undefined ? '**required**' : code(spec.default),
      allowed(spec),
      String(spec.description ?? ''),
    ]
      .map(cell)
      .join(' | '),
  );
  return [
    '| Input | Type | Default | Allowed values | Description |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

export interface RenderedReadme {
  text: string;
  /** Template files whose table changed. */
  changed: string[];
  /** Templates without a marker in the README, and markers naming no template. */
  problems: string[];
}

const FILE_START = /<!-- slipway:file ([A-Za-z0-9._/-]+) -->/g;
const FILE_END = '<!-- /slipway:file -->';

/**
 * Rewrites every `<!-- slipway:file <path> -->` block of `readme` with the file at `root/<path>`, as a yaml code
 * block. Output: the new text, the paths whose copy changed, and problems (a missing file or closing marker).
 */
export function renderFileCopies(readme: string, root: string): RenderedReadme {
  const changed: string[] = [];
  const problems: string[] = [];
  let text = '';
  let position = 0;
  for (const match of readme.matchAll(FILE_START)) {
    const file = match[1]!;
    const start = match.index + match[0].length;
    const end = readme.indexOf(FILE_END, start);
    if (end < 0) {
      problems.push(`README marker for ${file} has no closing ${FILE_END}`);
      continue;
    }
    const source = path.join(root, file);
    const before = readme.slice(start, end);
    let after = before;
    if (existsSync(source)) {
      const content = readFileSync(source, 'utf8').replace(/\n*$/, '\n');
      after = `\n\n<!-- prettier-ignore-start -->\n\`\`\`yaml\n${content}\`\`\`\n<!-- prettier-ignore-end -->\n\n`;
    } else {
      problems.push(`README shows ${file}, which does not exist`);
    }
    if (before !== after) changed.push(file);
    text += readme.slice(position, start) + after;
    position = end;
  }
  return { text: text + readme.slice(position), changed, problems };
}

/**
 * Rewrites every marked table in `readme` from `templates` (keyed by file name, e.g. `deploy.yml`), then every marked
 * file copy from the repository the templates live in (`<root>/ci-templates/<file>`).
 */
export function renderInputTables(readme: string, templates: Map<string, CiTemplate>): RenderedReadme {
  const tables = renderTables(readme, templates);
  const anyTemplate = templates.values().next().value;
  if (!anyTemplate) return tables;
  const copies = renderFileCopies(tables.text, path.dirname(path.dirname(path.resolve(anyTemplate.file))));
  return {
    text: copies.text,
    changed: [...tables.changed, ...copies.changed],
    problems: [...tables.problems, ...copies.problems],
  };
}

function renderTables(readme: string, templates: Map<string, CiTemplate>): RenderedReadme {
  const changed: string[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  let text = '';
  let position = 0;
  for (const match of readme.matchAll(START)) {
    const file = match[1]!;
    const startOfTable = match.index + match[0].length;
    const end = readme.indexOf(END, startOfTable);
    if (end < 0) {
      problems.push(`README marker for ${file} has no closing ${END}`);
      continue;
    }
    const template = templates.get(file);
    if (!template) problems.push(`README has a table for ${file}, but there is no such template`);
    const before = readme.slice(startOfTable, end);
    // prettier would realign the table; the generator owns its layout.
    const after = template
      ? `\n\n<!-- prettier-ignore-start -->\n${renderInputTable(template)}\n<!-- prettier-ignore-end -->\n\n`
      : before;
    if (before !== after) changed.push(file);
    seen.add(file);
    text += readme.slice(position, startOfTable) + after;
    position = end;
  }
  text += readme.slice(position);
  for (const file of templates.keys()) {
    if (!seen.has(file)) problems.push(`README has no "<!-- slipway:inputs ${file} -->" table for ${file}`);
  }
  return { text, changed, problems };
}
