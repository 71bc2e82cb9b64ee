// The files `npm run new:service -- <name>` writes must pass the new app's own `format:check` (prettier) for every
// valid name: the CI lint template runs `lint format:check typecheck`, so a template line prettier would rewrite
// fails every generated service's first pipeline. The name is the only thing that varies the output's line
// lengths, so the shortest and the longest valid names are rendered, with the generator's own helpers and
// Handlebars (what plop renders addMany templates with), and checked by prettier with the repository's settings.
// test/fresh-clone.test.ts runs the real generator end to end (lint, format:check, typecheck, test) for one name.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Handlebars from 'handlebars';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';

const run = promisify(execFile);
const GENERATORS = path.join(REPOSITORY_ROOT, 'turbo/generators');
const TEMPLATE = path.join(GENERATORS, 'templates/service');
const PRETTIER = path.join(REPOSITORY_ROOT, 'node_modules/.bin/prettier');
// The settings every workspace's .prettierrc names (the package @slipway/prettier-config).
const PRETTIER_SETTINGS = path.join(REPOSITORY_ROOT, 'packages/prettier-config/index.json');

type Helper = (...args: unknown[]) => unknown;

/** The helpers the generator registers, taken from turbo/generators/config.ts itself (loaded at run time). */
function generatorHelpers(): Record<string, Helper> {
  const helpers: Record<string, Helper> = {};
  // A runtime path keeps tsc from pulling the generator (outside this package's rootDir) into the typecheck.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const config = require(path.join(GENERATORS, 'config.ts')) as { default: (plop: unknown) => void };
  config.default({
    getDestBasePath: () => REPOSITORY_ROOT,
    setActionType: () => undefined,
    setGenerator: () => undefined,
    setHelper: (name: string, helper: Helper) => (helpers[name] = helper),
  });
  return helpers;
}

/** Renders the service template for `name` into `dir`, as addMany does (`.hbs` stripped). */
function render(name: string, dir: string, helpers: Record<string, Helper>): string[] {
  const handlebars = Handlebars.create();
  for (const [helperName, helper] of Object.entries(helpers)) handlebars.registerHelper(helperName, helper);
  const written: string[] = [];
  for (const entry of readdirSync(TEMPLATE, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const source = path.join(entry.parentPath, entry.name);
    const relative = path.relative(TEMPLATE, source).replace(/\.hbs$/, '');
    const target = path.join(dir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    const text = handlebars.compile(readFileSync(source, 'utf8'))({
      name,
      turbo: { paths: { root: REPOSITORY_ROOT } },
    });
    writeFileSync(target, text);
    written.push(relative);
  }
  return written;
}

describe('the new:service templates', () => {
  let dir: string | undefined;
  afterEach(() => removeDir(dir));

  const shortest = 'ox';
  const longest = 'order-history-for-the-account-dashboards';

  it.each([shortest, longest])(
    'render prettier-clean files for the valid name %s',
    async (name) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { serviceNameProblem } = require(path.join(GENERATORS, 'service-name.ts')) as {
        serviceNameProblem: (name: unknown, repoRoot: string) => string | undefined;
      };
      expect(serviceNameProblem(name, REPOSITORY_ROOT)).toBeUndefined();
      // The longest name is the maximum: one more character is refused.
      if (name === longest) expect(serviceNameProblem(`${name}s`, REPOSITORY_ROOT)).toMatch(/longer than/);

      dir = makeTempDir('service-template');
      const written = render(name, dir, generatorHelpers());
      expect(written).toEqual(
        expect.arrayContaining(['src/app.ts', 'test/unit/app.test.ts', '.gitlab-ci.yml']),
      );
      const result = await run(PRETTIER, ['--config', PRETTIER_SETTINGS, '--check', '.'], { cwd: dir }).then(
        () => ({ code: 0, output: '' }),
        (error: { code?: number; stdout?: string; stderr?: string }) => ({
          code: error.code ?? -1,
          output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
        }),
      );
      expect(result).toEqual({ code: 0, output: '' });
    },
    60_000,
  );
});
