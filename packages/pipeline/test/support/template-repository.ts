// A consumer's repository for the template tests: a throwaway git repository (createGitRepo) whose .gitlab-ci.yml
// includes templates from this checkout's ci-templates/ with the given inputs, as `include: local` does.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { REPOSITORY_ROOT } from './fixture-repository';
import { createGitRepo } from './gitlab-ci-local';

export type TemplateName = 'lint' | 'test' | 'build' | 'trivy' | 'deploy' | 'release';

export interface TemplateInclude {
  template: TemplateName;
  inputs: Record<string, unknown>;
}

/** The text of ci-templates/<template>.yml in this checkout. */
export function templateText(template: TemplateName): string {
  return readFileSync(path.join(REPOSITORY_ROOT, 'ci-templates', `${template}.yml`), 'utf8');
}

/**
 * A repository whose pipeline declares `stages` and includes each template with its inputs, plus `files` (path ->
 * content, such as an app's package.json or a Dockerfile). Returns its path; the caller removes it (removeDir).
 */
export function createTemplateRepo(
  stages: string[],
  includes: TemplateInclude[],
  files: Record<string, string> = {},
): string {
  const templates = [...new Set(includes.map((include) => include.template))];
  return createGitRepo({
    ...files,
    ...Object.fromEntries(
      templates.map((template) => [`ci-templates/${template}.yml`, templateText(template)]),
    ),
    '.gitlab-ci.yml': stringify({
      stages,
      include: includes.map(({ template, inputs }) => ({ local: `ci-templates/${template}.yml`, inputs })),
    }),
  });
}

/**
 * A containers-storage configuration (CONTAINERS_STORAGE_CONF) with its own vfs graph and run roots below `dir`:
 * a fresh runner's storage, which never meets another build's storage on this machine. Returns the file's path.
 */
export function freshContainersStorage(dir: string, name: string): string {
  const conf = path.join(dir, `${name}.conf`);
  const root = path.join(dir, name);
  writeFileSync(conf, `[storage]\ndriver = "vfs"\ngraphroot = "${root}/graph"\nrunroot = "${root}/run"\n`);
  return conf;
}

/**
 * The image tests' repository: app `api` (services/api/package.json with `version`) built from `dockerfile` by
 * build.yml and released by release.yml, both pushing to `<registryHost>/shop/api` over plain HTTP (a loopback
 * docker-registry). `buildInputs` go to build.yml only (for example `layer-cache`).
 */
export function createImageRepo(options: {
  registryHost: string;
  version: string;
  dockerfile: string;
  buildInputs?: Record<string, unknown>;
}): string {
  const common = {
    'job-prefix': 'api',
    'app-name': 'api',
    'image-repository': `${options.registryHost}/shop`,
    registry: options.registryHost,
    'registry-tls-verify': false,
  };
  return createTemplateRepo(
    ['build'],
    [
      {
        template: 'build',
        inputs: {
          ...common,
          'app-path': 'services/api',
          dockerfile: 'fixture/Dockerfile',
          ...options.buildInputs,
        },
      },
      { template: 'release', inputs: common },
    ],
    {
      'services/api/package.json': JSON.stringify({ name: 'api', version: options.version }, null, 2),
      'fixture/Dockerfile': options.dockerfile,
    },
  );
}
