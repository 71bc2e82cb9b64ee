// Where the repository names an app outside apps/. The rule (docs/development.md, "App knowledge stays in the apps
// folder"): the files that make the product outside apps/ never name an app, neither its directory name (also in
// UPPER_SNAKE, as in <APP>_STAGING_URL) nor a variable it declares. One implementation serves the test that holds the
// repository to the rule (test/repo-apps.test.ts) and `npm run new:service`, which refuses a name the rule would
// then find (turbo/generators/service-name.ts), so the generator never accepts a name that fails `npm test`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { APPS_DIRECTORY } from './repository';

/** An app as the rule sees it: its directory name (kebab-case) and the variables it declares. */
export type NamedApp = { name: string; variables: ReadonlyArray<{ name: string }> };

/** One place a file outside apps/ names an app: repository-relative file, 1-based line, the app, the line. */
export type AppMention = { file: string; line: number; app: string; text: string };

// Exempt: tests, benchmarks and their fixtures (they exercise the reference apps on purpose), package-lock.json
// (npm's record of the workspaces) and the generator (`npm run new:service`: its templates name no app, and its
// prompts give an example name, "order-history", that must stay free to generate). Markdown is not checked.
const EXEMPT_FILE = /(^|\/)(test|bench)\/|\.test\.[cm]?[jt]s$|^package-lock\.json$|^turbo\/generators\//;
const CHECKED_FILE = /\.(ts|js|mjs|cjs|json|ya?ml)$|(^|\/)Dockerfile$/;
// Comments and template input descriptions: examples in prose.
const PROSE_LINE = /^\s*(\/\/|#|\*|\/\*)|^\s*description:/;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The pattern that finds `app` named in a line, case-insensitively, as the names are written in the field:
 * - the app's name is a whole name: its words joined by "-" (weather-app, @slipway/weather-app,
 *   weather-app-deploy-production) or "_" (WEATHER_APP_STAGING_URL), with no letter or digit right before or
 *   after it; so the app "api" is named by "/api/x", "API_URL" or "staging/api", not by "GitlabApiError",
 *   "rapid" or "apis";
 * - a declared variable is a whole identifier: no letter, digit or "_" right before or after it.
 */
export function appNamePattern(app: NamedApp): RegExp {
  const name = app.name.split('-').map(escape).join('[-_]');
  const alternatives = [`(?<![a-z0-9])${name}(?![a-z0-9])`];
  for (const variable of app.variables)
    alternatives.push(`(?<![a-z0-9_])${escape(variable.name)}(?![a-z0-9_])`);
  return new RegExp(alternatives.join('|'), 'i');
}

/** The files the rule reads: tracked by git, outside apps/, source or configuration, not exempt. */
export function filesCheckedForAppNames(root: string): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter(
      (file) =>
        file !== '' &&
        !file.startsWith(`${APPS_DIRECTORY}/`) &&
        CHECKED_FILE.test(file) &&
        !EXEMPT_FILE.test(file),
    );
}

/**
 * Every line of a checked file (filesCheckedForAppNames) that names one of `apps`, outside comments, in file and
 * line order. `root` must be a git work tree (git ls-files lists the files); a tracked file deleted from the work
 * tree is skipped. Throws when git cannot list the files.
 */
export function appMentionsOutsideApps(root: string, apps: ReadonlyArray<NamedApp>): AppMention[] {
  const patterns = apps.map((app) => ({ app: app.name, pattern: appNamePattern(app) }));
  const mentions: AppMention[] = [];
  for (const file of filesCheckedForAppNames(root)) {
    let lines: string[];
    try {
      lines = readFileSync(path.join(root, file), 'utf8').split('\n');
    } catch {
      continue; // deleted in the working tree
    }
    lines.forEach((text, index) => {
      if (PROSE_LINE.test(text)) return;
      for (const { app, pattern } of patterns) {
        if (pattern.test(text)) mentions.push({ file, line: index + 1, app, text: text.trim() });
      }
    });
  }
  return mentions;
}
