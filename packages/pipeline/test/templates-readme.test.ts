// ci-templates/README.md's inputs tables are generated from the templates' spec headers; this fails when they drift.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { renderInputTable, renderInputTables } from '../src/templates/readme-tables';
import { parseTemplate, readTemplate, type CiTemplate } from '../src/templates/template-file';
import { REPOSITORY_ROOT } from './support/fixture-repository';

const TEMPLATES_DIR = path.join(REPOSITORY_ROOT, 'ci-templates');

function realTemplates(): Map<string, CiTemplate> {
  return new Map(
    readdirSync(TEMPLATES_DIR)
      .filter((file) => file.endsWith('.yml'))
      .map((file) => [file, readTemplate(path.join(TEMPLATES_DIR, file))]),
  );
}

const SAMPLE = parseTemplate(
  [
    'spec:',
    '  inputs:',
    '    stage:',
    '      description: Where it runs.',
    '      type: string',
    '      default: test',
    '    mode:',
    '      description: "Either `a` or `b`: pick one."',
    '      type: string',
    '      options: [a, b]',
    '    url:',
    '      description: A URL.',
    '      type: string',
    '      regex: ^(https?://|\\$)[^ ]+$',
    '---',
    'x: {}',
    '',
  ].join('\n'),
  'sample.yml',
);

describe('README inputs tables', () => {
  it('match the spec headers of every template (run "npx slipway templates docs" after changing one)', () => {
    const readme = readFileSync(path.join(TEMPLATES_DIR, 'README.md'), 'utf8');
    const rendered = renderInputTables(readme, realTemplates());
    expect(rendered.problems).toEqual([]);
    expect(rendered.changed).toEqual([]);
    expect(rendered.text).toBe(readme);
  });

  it('renders one row per input: required inputs, options and an escaped regex', () => {
    expect(renderInputTable(SAMPLE).split('\n')).toEqual([
      '| Input | Type | Default | Allowed values | Description |',
      '| --- | --- | --- | --- | --- |',
      '| `stage` | string | `test` |  | Where it runs. |',
      '| `mode` | string | **required** | `a`, `b` | Either `a` or `b`: pick one. |',
      '| `url` | string | **required** | regex `^(https?://\\|\\$)[^ ]+$` | A URL. |',
    ]);
  });

  it('rewrites only the marked table that drifted, and reports templates without a table', () => {
    const readme = [
      '# Prose stays',
      '<!-- slipway:inputs sample.yml -->',
      '| stale |',
      '<!-- /slipway:inputs -->',
      'More prose.',
      '',
    ].join('\n');
    const templates = new Map([
      ['sample.yml', SAMPLE],
      ['other.yml', { ...SAMPLE, name: 'other' }],
    ]);
    const rendered = renderInputTables(readme, templates);
    expect(rendered.changed).toEqual(['sample.yml']);
    expect(rendered.problems).toEqual([
      'README has no "<!-- slipway:inputs other.yml -->" table for other.yml',
    ]);
    expect(rendered.text).toContain(
      '# Prose stays\n<!-- slipway:inputs sample.yml -->\n\n<!-- prettier-ignore-start -->\n',
    );
    expect(rendered.text).toContain('| `mode` | string | **required** |');
    expect(rendered.text).toContain('<!-- /slipway:inputs -->\nMore prose.\n');
    expect(renderInputTables(rendered.text, new Map([['sample.yml', SAMPLE]])).changed).toEqual([]);
  });
});
