// The content key (turbo's hash of the `image` task) in a real fixture repository, in both directions: what does
// not reach an app's image leaves its key alone, and everything that does changes it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeContentKeys } from '../src/plan/content-key';
import { appendToFile, git, makeTempDir, removeDir, writeFile } from './support/fixture-repository';
import { createTwoAppRepository } from './support/two-app-repository';

let repo: string;

beforeAll(() => {
  repo = makeTempDir('content-key');
  createTwoAppRepository(repo);
});

afterAll(() => removeDir(repo));

afterEach(() => {
  git(repo, ['checkout', '--quiet', '--', '.']);
  git(repo, ['clean', '--quiet', '-fd']);
});

async function keys(env: NodeJS.ProcessEnv = {}): Promise<Record<string, string>> {
  const entries = await computeContentKeys(repo, { PATH: process.env.PATH, HOME: process.env.HOME, ...env });
  return Object.fromEntries(entries.map((entry) => [entry.path, entry.contentKey]));
}

function editLockfile(edit: (lockfile: { packages: Record<string, Record<string, unknown>> }) => void): void {
  const lockfile = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
  edit(lockfile);
  writeFile(repo, 'package-lock.json', `${JSON.stringify(lockfile, null, 2)}\n`);
}

const WEATHER = 'apps/weather-app';
const STATUS = 'apps/status-app';

it('is one 16-hex key per app, the same on every call and whatever NODE_ENV the job has', async () => {
  const first = await keys();
  expect(Object.keys(first)).toEqual([STATUS, WEATHER]);
  expect(Object.values(first)).toEqual([
    expect.stringMatching(/^[0-9a-f]{16}$/),
    expect.stringMatching(/^[0-9a-f]{16}$/),
  ]);
  expect(first[STATUS]).not.toBe(first[WEATHER]);
  expect(await keys({ NODE_ENV: 'production', CI_COMMIT_SHA: 'f'.repeat(40) })).toEqual(first);
});

describe('unchanged by what does not reach the image', () => {
  const cases: Array<[string, () => void]> = [
    [
      'the root README and docs/',
      () => {
        appendToFile(repo, 'README.md', '\nMore words.\n');
        writeFile(repo, 'docs/operations.md', '# Operations\n');
      },
    ],
    ["the app's own README", () => writeFile(repo, `${WEATHER}/README.md`, '# weather-app\n')],
    ["the app's tests", () => appendToFile(repo, `${WEATHER}/test/unit/extra.test.ts`, 'export {};\n')],
    ['another app', () => appendToFile(repo, `${STATUS}/src/index.js`, '// a change\n')],
    ['the CI templates', () => appendToFile(repo, 'ci-templates/deploy.yml', '\n# a change\n')],
    [
      "the app's pipeline and the parent pipeline",
      () => {
        appendToFile(repo, `${WEATHER}/.gitlab-ci.yml`, '\n# a change\n');
        appendToFile(repo, '.gitlab-ci.yml', '\n# a change\n');
      },
    ],
    ['.nvmrc (the image takes Node from its base image)', () => writeFile(repo, '.nvmrc', '24.99.0\n')],
    ['the docker test harness', () => appendToFile(repo, 'docker/test/image.test.mjs', '\n// a change\n')],
    [
      "a lockfile entry only another workspace uses (the CLI's gitlab-ci-local)",
      () =>
        editLockfile((lockfile) => {
          lockfile.packages['node_modules/gitlab-ci-local']!.version = '4.75.99';
        }),
    ],
  ];

  it.each(cases)('%s', async (_what, change) => {
    const before = await keys();
    change();
    const after = await keys();
    expect(after[WEATHER]).toBe(before[WEATHER]);
  });
});

describe('changed by what reaches the image', () => {
  const cases: Array<[string, () => void, NodeJS.ProcessEnv]> = [
    ["the app's source", () => appendToFile(repo, `${WEATHER}/src/app.ts`, '\n// a change\n'), {}],
    [
      'a file under src/docs/ (code, whatever its name)',
      () => writeFile(repo, `${WEATHER}/src/docs/help.md`, '# help\n'),
      {},
    ],
    ["the app's package.json", () => appendToFile(repo, `${WEATHER}/package.json`, '\n'), {}],
    [
      'service-kit, a workspace package it depends on',
      () => appendToFile(repo, 'packages/service-kit/src/index.ts', '\n// a change\n'),
      {},
    ],
    [
      'a lockfile entry it uses (express)',
      () =>
        editLockfile((lockfile) => {
          lockfile.packages['node_modules/express']!.version = '5.99.0';
        }),
      {},
    ],
    ['the Dockerfile', () => appendToFile(repo, 'docker/Dockerfile', '\n# a change\n'), {}],
    [
      'the base image reference in the Dockerfile',
      () => {
        const dockerfile = readFileSync(join(repo, 'docker/Dockerfile'), 'utf8');
        expect(dockerfile).toContain('ARG NODE_IMAGE=node:24-slim');
        writeFile(
          repo,
          'docker/Dockerfile',
          dockerfile.replace('ARG NODE_IMAGE=node:24-slim', 'ARG NODE_IMAGE=node:24.11.1-slim'),
        );
      },
      {},
    ],
    [
      'the image build arguments (SLIPWAY_IMAGE_BUILD_ARGS)',
      () => undefined,
      {
        SLIPWAY_IMAGE_BUILD_ARGS: 'NODE_IMAGE=node:24.11.1-bookworm-slim',
      },
    ],
    ['.dockerignore', () => appendToFile(repo, '.dockerignore', 'extra\n'), {}],
    ['the shared TypeScript config', () => appendToFile(repo, 'packages/tsconfig/base.json', '\n'), {}],
  ];

  it.each(cases)('%s', async (_what, change, env) => {
    const before = await keys();
    change();
    const after = await keys(env);
    expect(after[WEATHER]).not.toBe(before[WEATHER]);
  });

  it('changes with the root tooling in the lockfile (turbo hashes the root dependencies into every key: they build the image)', async () => {
    const before = await keys();
    editLockfile((lockfile) => {
      lockfile.packages['node_modules/typescript']!.version = '6.99.0';
    });
    expect((await keys())[WEATHER]).not.toBe(before[WEATHER]);
  });

  it("changes only the app whose lockfile entry changed, not the other app's", async () => {
    const before = await keys();
    editLockfile((lockfile) => {
      lockfile.packages['node_modules/express']!.version = '5.99.0';
    });
    const after = await keys();
    expect(after[WEATHER]).not.toBe(before[WEATHER]);
    expect(after[STATUS]).toBe(before[STATUS]);
  });

  it('orders build arguments before hashing, so the same set gives the same key', async () => {
    const one = await keys({ SLIPWAY_IMAGE_BUILD_ARGS: 'A=1 B=2' });
    const other = await keys({ SLIPWAY_IMAGE_BUILD_ARGS: ' B=2  A=1 ' });
    expect(other).toEqual(one);
  });
});
