// Where the repository is and what it holds: its apps (apps/<name>/), their pipelines (apps/<name>/.gitlab-ci.yml),
// the parent pipeline (.gitlab-ci.yml) and the CI templates (ci-templates/*.yml). Every command finds these here,
// so `gitlab setup`, `gitlab lint`, `templates check` and `plan` agree on what the repository holds.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const APPS_DIRECTORY = 'apps';
export const TEMPLATES_DIRECTORY = 'ci-templates';
/** The parent pipeline at the root, and each app's own pipeline in its directory (GitLab's default CI file name). */
export const PIPELINE_FILE = '.gitlab-ci.yml';

const TEMPLATE_FILE = /\.ya?ml$/;

function gitTopLevel(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function nearestWithTemplates(cwd: string): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, TEMPLATES_DIRECTORY))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The root of the repository a command works on, as an absolute path: `given` (a --root or --repo-root flag,
 * relative to `cwd`) when set; else git's top level of `cwd`; outside a git work tree (an unpacked archive), the
 * nearest directory at or above `cwd` that holds ci-templates/; else `cwd` itself. Never throws: a command that
 * needs something under the root says what is missing.
 */
export function findRepositoryRoot(cwd: string, given?: string): string {
  if (given !== undefined) return path.resolve(cwd, given);
  return gitTopLevel(cwd) ?? nearestWithTemplates(cwd) ?? path.resolve(cwd);
}

function listDirectory(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/**
 * The name of every app directory (apps/<name>), sorted: each one is an app in GitLab (its environments
 * <environment>/<name>, its pipeline apps/<name>/.gitlab-ci.yml), whether or not it is an npm workspace yet.
 * readRepositoryApps() reads the declarations of those that have a package.json.
 */
export function listAppDirectories(root: string): string[] {
  const apps = path.join(root, APPS_DIRECTORY);
  return listDirectory(apps).filter((name) => statSync(path.join(apps, name)).isDirectory());
}

/** An app's pipeline file, repository-relative: apps/<name>/.gitlab-ci.yml for the app path apps/<name>. */
export function appPipelineFile(appPath: string): string {
  return `${appPath}/${PIPELINE_FILE}`;
}

/**
 * The pipeline files that exist, repository-relative: the parent .gitlab-ci.yml, then each app's
 * apps/<name>/.gitlab-ci.yml in app order.
 */
export function listPipelineFiles(root: string): string[] {
  return [
    PIPELINE_FILE,
    ...listAppDirectories(root).map((name) => appPipelineFile(`${APPS_DIRECTORY}/${name}`)),
  ].filter((file) => existsSync(path.join(root, file)));
}

/** The CI templates, repository-relative and sorted: every ci-templates/*.yml (or .yaml). */
export function listTemplateFiles(root: string): string[] {
  return listDirectory(path.join(root, TEMPLATES_DIRECTORY))
    .filter((name) => TEMPLATE_FILE.test(name))
    .map((name) => `${TEMPLATES_DIRECTORY}/${name}`);
}
