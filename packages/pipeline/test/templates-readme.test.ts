// ci-templates/README.md's inputs tables are generated from the templates' spec headers; this fails when they drift.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { renderFileCopies, renderInputTable, renderInputTables } from '../src/templates/readme-tables';
import { parseTemplate, readTemplate, type CiTemplate } from '../src/templates/template-file';
import { git, REPOSITORY_ROOT } from './support/fixture-repository';

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

describe('README copies of repository files', () => {
  it('shows the real apps/weather-app/.gitlab-ci.yml where it says "this is how apps/weather-app/.gitlab-ci.yml uses them"', () => {
    const readme = readFileSync(path.join(TEMPLATES_DIR, 'README.md'), 'utf8');
    const claim = readme.indexOf('This is how `apps/weather-app/.gitlab-ci.yml` uses them');
    expect(claim).toBeGreaterThan(0);
    const copy = readme.indexOf('<!-- slipway:file apps/weather-app/.gitlab-ci.yml -->', claim);
    // The copy follows the claim directly, before any other code block.
    expect(copy).toBeGreaterThan(claim);
    expect(readme.slice(claim, copy)).not.toContain('```');
    const app = readFileSync(path.join(REPOSITORY_ROOT, 'apps/weather-app/.gitlab-ci.yml'), 'utf8');
    expect(readme).toContain(`\`\`\`yaml\n${app}\`\`\``);
    expect(renderFileCopies(readme, REPOSITORY_ROOT).changed).toEqual([]);
  });

  it('reports a copy that drifted from its file, and a file that does not exist', () => {
    const drifted = [
      '<!-- slipway:file apps/weather-app/.gitlab-ci.yml -->',
      '```yaml\nstages: [old]\n```',
      '<!-- /slipway:file -->',
      '<!-- slipway:file apps/nope/.gitlab-ci.yml -->',
      '<!-- /slipway:file -->',
    ].join('\n');
    const rendered = renderFileCopies(drifted, REPOSITORY_ROOT);
    expect(rendered.changed).toEqual(['apps/weather-app/.gitlab-ci.yml']);
    expect(rendered.problems).toEqual(['README shows apps/nope/.gitlab-ci.yml, which does not exist']);
    expect(rendered.text).toContain('job-prefix: weather-app');
  });
});

describe('.gitignore', () => {
  it('covers the child-pipeline.yml that `slipway plan --out child-pipeline.yml` writes', () => {
    expect(git(REPOSITORY_ROOT, ['check-ignore', 'child-pipeline.yml'])).toBe('child-pipeline.yml');
  });
});
