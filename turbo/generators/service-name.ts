// What makes a name usable for a new service: it becomes the directory apps/<name>, the npm package
// @slipway/<name>, the image repository <registry>/<name>, the GitLab environments staging/<name> and
// production/<name>, and the prefix of its CI jobs (<name>-deploy-production). Kept free of plop so the
// generator test can call it directly.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
// The one implementation of the rule that nothing outside apps/ names an app (packages/pipeline's
// test/repo-apps.test.ts holds the repository to it), imported from its source: the generator must not need a build.
import { appMentionsOutsideApps } from '../../packages/pipeline/src/repo/app-mentions';

// Kebab case, as the templates' job-prefix and app-name inputs require (^[a-z0-9]([a-z0-9-]*[a-z0-9])?$), starting
// with a letter so it is also a valid npm package name segment and DNS label.
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const MAX_LENGTH = 40;
// Directories of this repository and names npm refuses (node_modules, favicon.ico) or that would read as one.
const RESERVED = new Set([
  'apps',
  'packages',
  'node-modules',
  'node_modules',
  'slipway',
  'turbo',
  'docker',
  'docs',
  'scripts',
  'ci-templates',
  'test',
  'tests',
  'dist',
  'coverage',
  'reports',
  'app',
  'service',
  'favicon',
]);

/** Why `name` cannot be a new service in the repository at `repoRoot`; undefined when it can. */
export function serviceNameProblem(name: unknown, repoRoot: string): string | undefined {
  if (typeof name !== 'string' || name === '')
    return 'give the service a name: npm run new:service -- <name>';
  if (!KEBAB.test(name)) {
    return `"${name}" is not a kebab-case name: use lowercase letters, digits and single hyphens, starting with a letter (for example "order-history")`;
  }
  if (name.length > MAX_LENGTH) return `"${name}" is longer than ${MAX_LENGTH} characters`;
  if (RESERVED.has(name))
    return `"${name}" is reserved in this repository; choose a name that says what the service does`;
  const packages = path.join(repoRoot, 'packages');
  if (existsSync(packages) && readdirSync(packages).includes(name)) {
    return `"${name}" is already a shared package (packages/${name}); choose another name`;
  }
  if (existsSync(path.join(repoRoot, 'apps', name))) return `apps/${name} already exists`;
  return nameUsedOutsideApps(name, repoRoot);
}

/**
 * Why `name` would break the rule that nothing outside apps/ names an app (so `npm test` would fail right after
 * generating it): the first place it already appears as a whole name, and how many more. Undefined when it appears
 * nowhere, or when the repository is not a git work tree (the rule reads git's files; without git it cannot run).
 */
function nameUsedOutsideApps(name: string, repoRoot: string): string | undefined {
  let mentions;
  try {
    mentions = appMentionsOutsideApps(repoRoot, [{ name, variables: [] }]);
  } catch {
    return undefined;
  }
  const [first] = mentions;
  if (!first) return undefined;
  const more = mentions.length > 1 ? ` and ${mentions.length - 1} more place(s)` : '';
  return (
    `"${name}" already appears outside apps/ as a name (${first.file}:${first.line}${more}), and nothing outside ` +
    `apps/ may name an app (docs/development.md#app-knowledge-stays-in-the-apps-folder); choose a more specific name`
  );
}
