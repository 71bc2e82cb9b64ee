// The apps' declarations (apps/<app>/package.json "slipway") are the one source of each app's runtime variables
// and secrets. These tests hold the repository to that: turbo passes exactly the declared variables through,
// docs/configuration.md (or the app's README) documents every one, ports do not collide, and nothing outside
// apps/ names an app.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { appMentionsOutsideApps, appNamePattern, filesCheckedForAppNames } from '../src/repo/app-mentions';
import {
  AppDeclarationError,
  declaredSecrets,
  readRepositoryApps,
  turboPassThroughProblems,
  type RepositoryApp,
} from '../src/repo/apps';
import { documentedConfiguration, documentedVariables } from './support/documented-variables';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';

const apps = readRepositoryApps(REPOSITORY_ROOT);

describe('the apps of this repository', () => {
  it('are read with their declarations', () => {
    expect(apps.length).toBeGreaterThanOrEqual(2);
    for (const app of apps) {
      expect(app.path).toBe(`apps/${app.name}`);
      expect(app.packageName).toMatch(/^@slipway\//);
    }
  });

  it.each(apps.map((app) => [app.name, app] as const))(
    "%s: turbo.json's start and dev tasks pass through exactly the declared variables",
    (_name, app) => {
      expect(turboPassThroughProblems(REPOSITORY_ROOT, app)).toEqual([]);
    },
  );

  it('declare distinct default ports, so npm start runs them side by side', () => {
    const ports = apps.map((app) => app.port);
    expect(ports.every((port) => typeof port === 'number')).toBe(true);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('have every declared variable documented (docs/configuration.md or the app README), and no stray one', () => {
    const rootDocumented = documentedConfiguration(REPOSITORY_ROOT);
    const turbo = JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, 'turbo.json'), 'utf8')) as {
      globalEnv?: string[];
      globalPassThroughEnv?: string[];
    };
    const chassis = [...(turbo.globalEnv ?? []), ...(turbo.globalPassThroughEnv ?? [])];
    const isChassis = (name: string) =>
      chassis.some((entry) => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : entry === name));
    const undocumented = apps.flatMap((app) => {
      const appReadme = path.join(REPOSITORY_ROOT, app.path, 'README.md');
      let appDocumented: string[] = [];
      try {
        appDocumented = documentedVariables(readFileSync(appReadme, 'utf8'));
      } catch {
        // no app README: docs/configuration.md must have them
      }
      return app.variables
        .map((variable) => variable.name)
        .filter((name) => !rootDocumented.includes(name) && !appDocumented.includes(name))
        .map((name) => `${app.path}: ${name}`);
    });
    expect(undocumented).toEqual([]);
    const declared = new Set(apps.flatMap((app) => app.variables.map((variable) => variable.name)));
    expect(rootDocumented.filter((name) => !declared.has(name) && !isChassis(name))).toEqual([]);
  });
});

describe('readRepositoryApps and declaredSecrets', () => {
  let repo: string;
  beforeEach(() => {
    repo = makeTempDir('repo-apps');
  });
  afterEach(() => removeDir(repo));

  const writeApp = (name: string, manifest: unknown) => {
    mkdirSync(path.join(repo, 'apps', name), { recursive: true });
    writeFileSync(path.join(repo, 'apps', name, 'package.json'), JSON.stringify(manifest));
  };
  const secret = (environments?: string[]) => ({
    description: 'd',
    example: 'e',
    secret: true,
    ...(environments ? { environments } : {}),
  });

  it('lists only directories with a package.json, sorted, and an app without a declaration declares nothing', () => {
    writeApp('b-app', { name: '@x/b' });
    writeApp('a-app', { name: '@x/a', slipway: { port: 4000, variables: { A_KEY: secret() } } });
    mkdirSync(path.join(repo, 'apps', 'not-an-app'), { recursive: true });
    const found = readRepositoryApps(repo);
    expect(found.map((app) => [app.name, app.port, app.variables.length])).toEqual([
      ['a-app', 4000, 1],
      ['b-app', undefined, 0],
    ]);
    expect(declaredSecrets(found)).toEqual([
      expect.objectContaining({
        name: 'A_KEY',
        apps: ['a-app'],
        environments: ['production/*', 'staging/*'],
      }),
    ]);
  });

  it.each([
    [
      { name: '@x/a', slipway: { variables: { lower: secret() } } },
      /slipway\.variables\.lower is not an UPPER_SNAKE_CASE variable name/,
    ],
    [{ name: '@x/a', slipway: { variables: { A: { description: 'd' } } } }, /slipway\.variables\.A\.example/],
    [
      {
        name: '@x/a',
        slipway: { variables: { A: { description: 'd', example: 'e', environments: ['x'] } } },
      },
      /environments scope a secret/,
    ],
    [{ name: '@x/a', slipway: { varaibles: {} } }, /slipway .*varaibles/],
    [{ slipway: {} }, /"name" is missing/],
  ])('refuses a bad declaration, naming the file and field (%#)', (manifest, message) => {
    writeApp('a-app', manifest);
    expect(() => readRepositoryApps(repo)).toThrow(AppDeclarationError);
    expect(() => readRepositoryApps(repo)).toThrow(message);
    expect(() => readRepositoryApps(repo)).toThrow(/^apps\/a-app\/package\.json: /);
  });

  it('refuses one secret declared by two apps with different scopes', () => {
    writeApp('a-app', { name: '@x/a', slipway: { variables: { SHARED: secret(['staging/*']) } } });
    writeApp('b-app', { name: '@x/b', slipway: { variables: { SHARED: secret(['production/*']) } } });
    expect(() => declaredSecrets(readRepositoryApps(repo))).toThrow(
      'SHARED is declared by a-app for staging/* and by b-app for production/*',
    );
  });

  it('reports a turbo.json that misses or adds variables, per task', () => {
    writeApp('a-app', { name: '@x/a', slipway: { variables: { ONE: secret(), TWO: secret() } } });
    const [app] = readRepositoryApps(repo) as [RepositoryApp];
    expect(turboPassThroughProblems(repo, app)).toEqual([
      'apps/a-app/turbo.json is missing; its start and dev tasks must pass through ONE, TWO',
    ]);
    writeFileSync(
      path.join(repo, 'apps/a-app/turbo.json'),
      JSON.stringify({
        tasks: { start: { passThroughEnv: ['ONE', 'THREE'] }, dev: { passThroughEnv: ['ONE', 'TWO'] } },
      }),
    );
    expect(turboPassThroughProblems(repo, app)).toEqual([
      'apps/a-app/turbo.json: task "start" does not pass through TWO',
      'apps/a-app/turbo.json: task "start" passes through THREE, which apps/a-app/package.json does not declare',
    ]);
  });
});

// `npm run dev` (turbo run dev) runs the dev script of every workspace that has one. An app restarts when its own
// dist/ or the chassis's changes, so a change under packages/service-kit/src reaches the running apps: service-kit's
// dev recompiles it and each app's `node --watch-path` sees its dist change.
describe('npm run dev reloads the apps when the chassis changes', () => {
  const readJson = (file: string) =>
    JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, file), 'utf8')) as {
      scripts?: Record<string, string>;
      dependencies?: Record<string, string>;
      tasks?: Record<string, { persistent?: boolean; dependsOn?: string[] }>;
    };
  const SERVICE_KIT = 'packages/service-kit';
  /** The directories a dev script's node --watch-path options name, resolved from the workspace. */
  const watchedDirectories = (workspace: string, script: string) =>
    [...script.matchAll(/--watch-path[= ](\S+)/g)].map((match) =>
      path.posix.normalize(path.posix.join(workspace, match[1]!)),
    );

  it('service-kit has a dev script that recompiles it on change, and turbo runs dev as a persistent task', () => {
    const dev = readJson(`${SERVICE_KIT}/package.json`).scripts?.dev ?? '';
    expect(dev).toMatch(/\btsc\b.*-p tsconfig\.build\.json.*--watch\b/);
    // dev must not depend on ^dev: a persistent task cannot be a dependency, and every workspace's dev runs anyway.
    expect(readJson('turbo.json').tasks?.dev).toMatchObject({ persistent: true, dependsOn: ['build'] });
  });

  it.each(apps.map((app) => [app.name, app] as const))(
    "%s: its dev script restarts on a change of its own dist and of service-kit's dist",
    (_name, app) => {
      const manifest = readJson(`${app.path}/package.json`);
      expect(manifest.dependencies?.['@slipway/service-kit']).toBeDefined();
      const dev = manifest.scripts?.dev ?? '';
      expect(dev).toMatch(/\btsc\b.*--watch\b/);
      expect(watchedDirectories(app.path, dev)).toEqual(
        expect.arrayContaining([`${app.path}/dist`, `${SERVICE_KIT}/dist`]),
      );
    },
  );

  it('npm run new:service generates an app whose dev script does the same', () => {
    const template = readFileSync(
      path.join(REPOSITORY_ROOT, 'turbo/generators/templates/service/package.json.hbs'),
      'utf8',
    );
    const dev = /"dev": "([^"]+)"/.exec(template)?.[1] ?? '';
    expect(watchedDirectories('apps/generated', dev)).toEqual(['apps/generated/dist', `${SERVICE_KIT}/dist`]);
  });
});

// The rule (src/repo/app-mentions.ts, shared with `npm run new:service`): outside apps/, the files that make the
// product never name an app: not its directory name as a whole name (also as UPPER_SNAKE, as in <APP>_STAGING_URL),
// not a variable it declares. Exempt: tests, benchmarks and their fixtures, Markdown, comments and template input
// descriptions, package-lock.json, and the generator (turbo/generators/).
describe("app knowledge stays in the app's folder", () => {
  it('no source or configuration file outside apps/ names an app', () => {
    expect(filesCheckedForAppNames(REPOSITORY_ROOT).length).toBeGreaterThan(20);
    const hits = appMentionsOutsideApps(REPOSITORY_ROOT, apps).map(
      (mention) => `${mention.file}:${mention.line} names ${mention.app}: ${mention.text}`,
    );
    expect(hits).toEqual([]);
  });
});

describe('npm run new:service', () => {
  // The example the docs and the generator's prompt give is a name the generator accepts and the rule then passes.
  it('can generate its documented example, order-history: nothing outside apps/ names it', () => {
    const development = readFileSync(path.join(REPOSITORY_ROOT, 'docs/development.md'), 'utf8');
    expect(development).toContain('npm run new:service -- order-history');
    expect(appMentionsOutsideApps(REPOSITORY_ROOT, [{ name: 'order-history', variables: [] }])).toEqual([]);
  });
});

describe('appNamePattern: an app is named by its whole name, as the field writes it', () => {
  const pattern = (name: string, variables: string[] = []) =>
    appNamePattern({ name, variables: variables.map((variable) => ({ name: variable })) });

  it.each([
    ['api', 'const url = "/api/weather";'],
    ['api', 'environment: staging/api'],
    ['api', 'API_STAGING_URL: https://x'],
    ['api', '"name": "@slipway/api"'],
    ['api', 'api-deploy-production:'],
    ['weather-app', 'environment: production/weather-app'],
    ['weather-app', 'WEATHER_APP_STAGING_URL'],
    ['weather-app', 'weather_app'],
    ['saved-cities', "import x from '@slipway/Saved-Cities';"],
  ])('%s is named in %j', (name, line) => {
    expect(pattern(name).test(line)).toBe(true);
  });

  it.each([
    ['api', 'export class GitlabApiError extends Error {}'],
    ['api', 'const rapid = apis.length;'],
    ['a', 'const value = await fetch(path);'],
    ['con', 'console.log(connection);'],
    ['auth', 'const oauth = authorize();'],
    ['status', 'const statusCode = 200;'],
    ['weather-app', 'const weatherApp = 1;'],
    ['weather-app', 'weather-apps'],
  ])('%s is not named in %j', (name, line) => {
    expect(pattern(name).test(line)).toBe(false);
  });

  it('a declared variable is named as a whole identifier', () => {
    const withKey = pattern('weather-app', ['OPENWEATHER_API_KEY']);
    expect(withKey.test('process.env.OPENWEATHER_API_KEY')).toBe(true);
    expect(withKey.test('OPENWEATHER_API_KEY_FILE')).toBe(false);
    expect(withKey.test('MY_OPENWEATHER_API_KEY')).toBe(false);
  });
});

describe('appMentionsOutsideApps', () => {
  let repo: string;
  beforeEach(() => {
    repo = makeTempDir('app-mentions');
  });
  afterEach(() => removeDir(repo));

  it('reports each line outside apps/ that names an app, leaving out apps/, tests, comments and prose', () => {
    const files: Record<string, string> = {
      'apps/api/src/app.ts': 'export const name = "api";',
      'packages/kit/src/client.ts':
        'export class GitlabApiError {}\nconst base = "/api/v4";\n// api in a comment',
      'packages/kit/test/client.test.ts': 'const app = "api";',
      'docs/api.md': 'the api app',
      'ci-templates/deploy.yml': 'x:\n  description: deploys api\n  environment: staging/api',
    };
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
      writeFileSync(path.join(repo, file), text);
    }
    execFileSync('git', ['init', '-q'], { cwd: repo });
    execFileSync('git', ['add', '-A'], { cwd: repo });
    expect(appMentionsOutsideApps(repo, [{ name: 'api', variables: [] }])).toEqual([
      { file: 'ci-templates/deploy.yml', line: 3, app: 'api', text: 'environment: staging/api' },
      { file: 'packages/kit/src/client.ts', line: 2, app: 'api', text: 'const base = "/api/v4";' },
    ]);
  });
});
