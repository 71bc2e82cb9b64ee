import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The page that documents every variable of the chassis and the apps, relative to the repository root. */
export const CONFIGURATION_PAGE = 'docs/configuration.md';

/**
 * The variable names in the first column of a Markdown section's tables (rows starting "| `NAME`"), from the
 * `section` heading to the next level-2 heading. An app README documents its own under "## Configuration".
 */
export function documentedVariables(markdown: string, section = '## Configuration'): string[] {
  const text = `\n${markdown}`;
  const start = text.indexOf(`\n${section}\n`);
  if (start < 0) return [];
  const end = text.indexOf('\n## ', start + section.length + 2);
  const body = text.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((match) => match[1]!);
}

/**
 * The documented list of the repository at `root`: the "## Variables" tables of docs/configuration.md. Throws when
 * the page or its table is gone, so moving the table cannot make the tests that read it pass on an empty list.
 */
export function documentedConfiguration(root: string): string[] {
  const documented = documentedVariables(
    readFileSync(join(root, CONFIGURATION_PAGE), 'utf8'),
    '## Variables',
  );
  if (documented.length === 0)
    throw new Error(`${CONFIGURATION_PAGE} has no variables table under "## Variables"`);
  return documented;
}
