// Every app has the shape DESIGN.md describes, and `npm run new:service` generates it:
// - at the app's root, only `src/` and `test/` are folders;
// - `src/<module>/` is used only through its door, `src/<module>/index.ts`: no file outside a module imports a
//   file inside it ("a module is used only through its public door", nodebestpractices);
// - `test/` is the one home of the app's tests, in subfolders by kind, and a kind shares helpers with another only
//   through `test/support/`.
// The rule reads the files as they are on disk (tracked or new, not ignored), so a move shows before its commit.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readRepositoryApps } from '../src/repo/apps';
import { REPOSITORY_ROOT } from './support/fixture-repository';

const TEST_KINDS = ['unit', 'integration', 'reliability', 'browser', 'bench', 'support'];
const GENERATOR_TEMPLATE = 'turbo/generators/templates/service';
const SOURCE_FILE = /\.(ts|js|mjs|cjs)$/;

/** The files of `root` (relative to it, template suffix `.hbs` removed), tracked or new, ignored ones left out. */
function filesOf(root: string): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', root], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file !== '' && existsSync(path.join(REPOSITORY_ROOT, file)))
    .map((file) => path.posix.relative(root, file).replace(/\.hbs$/, ''));
}

/** The relative module specifiers a source file imports or re-exports (static and dynamic). */
function relativeImports(text: string): string[] {
  return [
    ...text.matchAll(
      /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]*|\.{1,2})['"]/gm,
    ),
  ].map((match) => match[1]!);
}

type Source = { files: string[]; read: (file: string) => string };

/** The app (or template) at `appRoot` in this repository, as layoutProblems reads it. */
function sourceOf(appRoot: string): Source {
  return {
    files: filesOf(appRoot),
    read: (file) => {
      const onDisk = path.join(REPOSITORY_ROOT, appRoot, file);
      return readFileSync(existsSync(onDisk) ? onDisk : `${onDisk}.hbs`, 'utf8');
    },
  };
}

/** Where each relative import of each source file under `dir` points, as [file, target] relative to the app. */
function importEdges({ files, read }: Source, dir: string): Array<[string, string]> {
  return files
    .filter((file) => file.startsWith(`${dir}/`) && SOURCE_FILE.test(file))
    .flatMap((file) =>
      relativeImports(read(file)).map(
        (specifier) => [file, path.posix.join(path.posix.dirname(file), specifier)] as [string, string],
      ),
    );
}

/** What the layout rules find wrong with an app, one line per problem. */
function layoutProblems(source: Source): string[] {
  const { files } = source;
  const problems: string[] = [];

  const rootFolders = new Set(files.filter((file) => file.includes('/')).map((file) => file.split('/')[0]!));
  for (const folder of rootFolders) {
    if (folder !== 'src' && folder !== 'test') problems.push(`${folder}/ sits beside src/ and test/`);
  }

  for (const file of files.filter((candidate) => candidate.startsWith('test/'))) {
    const parts = file.split('/');
    if (parts.length === 2) problems.push(`${file} is directly in test/, not in a subfolder by kind`);
    else if (!TEST_KINDS.includes(parts[1]!))
      problems.push(`${file}: test/${parts[1]}/ is not one of ${TEST_KINDS.join(', ')}`);
  }
  for (const [file, target] of importEdges(source, 'test')) {
    const from = file.split('/')[1];
    const to = target.split('/');
    if (to[0] === 'test' && to.length > 2 && to[1] !== from && to[1] !== 'support')
      problems.push(`${file} imports ${target}: share it through test/support/`);
  }

  const modules = new Set(
    files.filter((file) => /^src\/[^/]+\/./.test(file)).map((file) => file.split('/')[1]!),
  );
  for (const module of modules) {
    if (!files.includes(`src/${module}/index.ts`)) problems.push(`src/${module}/ has no door (index.ts)`);
  }
  for (const [file, target] of importEdges(source, 'src')) {
    const [, module, ...inside] = target.split('/');
    if (!module || !modules.has(module) || inside.length === 0 || inside.join('/') === 'index') continue;
    if (file.startsWith(`src/${module}/`)) continue;
    problems.push(`${file} imports ${target}: use the door src/${module}/index.ts`);
  }
  return problems;
}

describe('the apps and the generated service have one shape', () => {
  const roots = [...readRepositoryApps(REPOSITORY_ROOT).map((app) => app.path), GENERATOR_TEMPLATE];

  it.each(roots)(
    '%s: src/ and test/ only, modules through their doors, tests in subfolders by kind',
    (root) => {
      const source = sourceOf(root);
      expect(source.files).toEqual(expect.arrayContaining(['src/app.ts', 'package.json']));
      expect(source.files.some((file) => /^src\/[^/]+\/index\.ts$/.test(file))).toBe(true);
      expect(source.files.some((file) => /^test\/unit\/.*\.test\.ts$/.test(file))).toBe(true);
      expect(layoutProblems(source)).toEqual([]);
    },
  );
});

describe('the layout rules', () => {
  const app = (sources: Record<string, string>): Source => ({
    files: Object.keys(sources),
    read: (file) => sources[file] ?? '',
  });
  const good = {
    'package.json': '{}',
    'src/app.ts': "import { createWeatherModule } from './weather';\nimport { x } from './config';",
    'src/config.ts': '',
    'src/weather/index.ts': "export { weatherRoutes } from './routes';",
    'src/weather/routes.ts': "import type { WeatherConfig } from '../config';",
    'test/unit/app.test.ts':
      "import { createApp } from '../../src/app';\nimport { stub } from '../support/stub';",
    'test/support/stub.ts': '',
    'test/bench/run.ts': "import { stub } from '../support/stub';",
  };

  it('accept an app in the shape', () => {
    expect(layoutProblems(app(good))).toEqual([]);
  });

  it.each([
    [{ 'bench/run.ts': '' }, 'bench/ sits beside src/ and test/'],
    [{ 'test/app.test.ts': '' }, 'test/app.test.ts is directly in test/, not in a subfolder by kind'],
    [{ 'test/misc/a.test.ts': '' }, 'test/misc/a.test.ts: test/misc/ is not one of'],
    [
      { 'test/reliability/a.test.ts': "import { start } from '../bench/processes';" },
      'test/reliability/a.test.ts imports test/bench/processes: share it through test/support/',
    ],
    [{ 'src/cities/routes.ts': '' }, 'src/cities/ has no door (index.ts)'],
    [
      { 'src/app.ts': "import { weatherRoutes } from './weather/routes';" },
      'src/app.ts imports src/weather/routes: use the door src/weather/index.ts',
    ],
    [
      { 'src/server.ts': "const { x } = await import('./weather/views');" },
      'src/server.ts imports src/weather/views: use the door src/weather/index.ts',
    ],
  ])('refuse %j', (change, problem) => {
    const problems = layoutProblems(app({ ...good, ...(change as Record<string, string>) }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });
});
