// The one inventory of the repository: where it is, its app directories, its pipeline files and its templates. Every
// command reads these lists, so gitlab lint, templates check and gitlab setup see the same repository.
import { mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import {
  findRepositoryRoot,
  listAppDirectories,
  listPipelineFiles,
  listTemplateFiles,
  readRepositoryApps,
} from '../src/repo';
import { collectLintTargets } from '../src/gitlab/ci-lint';
import { git, makeTempDir, removeDir, REPOSITORY_ROOT, writeFile } from './support/fixture-repository';

let dir: string;
beforeEach(() => {
  dir = realpathSync(makeTempDir('repository'));
});
afterEach(() => removeDir(dir));

/** apps/web (an npm workspace with a pipeline), apps/docs-only (no package.json, a pipeline), apps/README.md. */
function layOutRepository(root: string): void {
  writeFile(root, '.gitlab-ci.yml', 'plan:\n  script: [slipway plan]\n');
  writeFile(root, 'apps/web/package.json', '{"name":"@x/web"}\n');
  writeFile(root, 'apps/web/.gitlab-ci.yml', 'web:\n  script: [echo]\n');
  writeFile(root, 'apps/docs-only/.gitlab-ci.yml', 'docs:\n  script: [echo]\n');
  writeFile(root, 'apps/no-pipeline/package.json', '{"name":"@x/no-pipeline"}\n');
  writeFile(root, 'apps/README.md', '# not an app\n');
  writeFile(root, 'ci-templates/lint.yml', 'spec:\n  inputs: {}\n---\n');
  writeFile(root, 'ci-templates/deploy.yaml', 'spec:\n  inputs: {}\n---\n');
  writeFile(root, 'ci-templates/README.md', '# not a template\n');
}

describe('findRepositoryRoot', () => {
  it("is git's top level from any directory inside a checkout", () => {
    git(dir, ['init', '--quiet']);
    mkdirSync(path.join(dir, 'apps', 'web', 'src'), { recursive: true });
    expect(findRepositoryRoot(path.join(dir, 'apps', 'web', 'src'))).toBe(dir);
  });

  it('is the flag, relative to the working directory, when one is given', () => {
    expect(findRepositoryRoot(dir, 'elsewhere')).toBe(path.join(dir, 'elsewhere'));
    expect(findRepositoryRoot(dir, '/abs')).toBe('/abs');
  });

  it('outside git, is the nearest directory upwards that holds ci-templates/, else the working directory', () => {
    writeFile(dir, 'ci-templates/lint.yml', 'spec: {}\n');
    mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    expect(findRepositoryRoot(path.join(dir, 'a', 'b'))).toBe(dir);
    const bare = realpathSync(makeTempDir('no-repository'));
    try {
      expect(findRepositoryRoot(bare)).toBe(bare);
    } finally {
      removeDir(bare);
    }
  });

  it('finds this checkout from the package directory', () => {
    expect(findRepositoryRoot(path.join(REPOSITORY_ROOT, 'packages', 'pipeline'))).toBe(REPOSITORY_ROOT);
  });
});

describe('the lists', () => {
  it('app directories: every directory under apps/, sorted; declarations only where a package.json is', () => {
    layOutRepository(dir);
    expect(listAppDirectories(dir)).toEqual(['docs-only', 'no-pipeline', 'web']);
    expect(readRepositoryApps(dir).map((app) => app.name)).toEqual(['no-pipeline', 'web']);
  });

  it('pipeline files: the parent, then each app that has one', () => {
    layOutRepository(dir);
    expect(listPipelineFiles(dir)).toEqual([
      '.gitlab-ci.yml',
      'apps/docs-only/.gitlab-ci.yml',
      'apps/web/.gitlab-ci.yml',
    ]);
  });

  it('templates: every .yml or .yaml file in ci-templates/, sorted', () => {
    layOutRepository(dir);
    expect(listTemplateFiles(dir)).toEqual(['ci-templates/deploy.yaml', 'ci-templates/lint.yml']);
  });

  it('are empty in a directory without apps/, ci-templates/ or a pipeline', () => {
    expect([listAppDirectories(dir), listPipelineFiles(dir), listTemplateFiles(dir)]).toEqual([[], [], []]);
  });

  it('gitlab lint lints exactly the pipeline files and templates the lists name', () => {
    const files = collectLintTargets(REPOSITORY_ROOT).map((target) => target.file);
    expect(files).toEqual([...listPipelineFiles(REPOSITORY_ROOT), ...listTemplateFiles(REPOSITORY_ROOT)]);
    expect(files).toContain('apps/weather-app/.gitlab-ci.yml');
    expect(files).toContain('ci-templates/deploy.yml');
  });
});
