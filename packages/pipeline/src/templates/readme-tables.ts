// The inputs tables of ci-templates/README.md, generated from the templates' `spec: inputs:` headers. Each table sits
// between `<!-- slipway:inputs <file> -->` and `<!-- /slipway:inputs -->`; everything else in the README is prose that
// people write, and is left alone.
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

/** Rewrites every marked table in `readme` from `templates` (keyed by file name, e.g. `deploy.yml`). */
export function renderInputTables(readme: string, templates: Map<string, CiTemplate>): RenderedReadme {
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
