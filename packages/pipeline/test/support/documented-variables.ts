/**
 * The variable names in the first column of a Markdown section's tables (rows starting "| `NAME`"), from the
 * `section` heading to the next level-2 heading. The README's "## Configuration" section is the documented list.
 */
export function documentedVariables(markdown: string, section = '## Configuration'): string[] {
  const start = markdown.indexOf(`\n${section}\n`);
  if (start < 0) return [];
  const end = markdown.indexOf('\n## ', start + section.length + 2);
  const body = markdown.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((match) => match[1]!);
}
