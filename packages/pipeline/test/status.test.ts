// `slipway status` against Debian's docker-registry on loopback and environments' /version stand-ins.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli';
import { parseStatusOptions } from '../src/commands/status';
import { CliUsageError } from '../src/command-line/flags';
import { computeContentKeys } from '../src/plan/content-key';
import { contentTag } from '../src/plan/registry';
import { unusedLoopbackUrl } from './support/fake-deployment';
import { git, makeTempDir, removeDir } from './support/fixture-repository';
import {
  type FakeEnvironment,
  type LocalRegistry,
  pushImage,
  startFakeEnvironment,
  startLocalRegistry,
} from './support/local-registry';
import { createTwoAppRepository } from './support/two-app-repository';

let work: string;
let repo: string;
let registry: LocalRegistry;
let staging: FakeEnvironment;
let keys: Record<string, string>;
const savedEnv = { ...process.env };
const cwd = process.cwd();

beforeAll(async () => {
  work = makeTempDir('status');
  repo = join(work, 'repo');
  mkdirSync(repo);
  createTwoAppRepository(repo);
  registry = await startLocalRegistry(work);
  staging = await startFakeEnvironment();
  keys = Object.fromEntries(
    (await computeContentKeys(repo, process.env)).map((key) => [
      key.path.replace('apps/', ''),
      key.contentKey,
    ]),
  );
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await staging?.close();
  removeDir(work);
});

afterEach(() => {
  process.chdir(cwd);
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  jest.restoreAllMocks();
});

async function status(args: string[], env: Record<string, string>) {
  for (const name of [
    'CI_REGISTRY_IMAGE',
    'SLIPWAY_IMAGE_REPOSITORY',
    'CI_REGISTRY_USER',
    'CI_REGISTRY_PASSWORD',
  ])
    delete process.env[name];
  for (const name of Object.keys(process.env)) if (/_URL$/.test(name)) delete process.env[name];
  Object.assign(process.env, env);
  const stdout: string[] = [];
  const stderr: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
  process.chdir(join(repo, 'apps'));
  const code = await main(['status', ...args]);
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

it('works with no registry and no environment configured: image null, environments empty', async () => {
  const result = await status(['--format', 'json'], {});

  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([
    { app: 'status-app', contentKey: keys['status-app'], image: null, environments: {} },
    { app: 'weather-app', contentKey: keys['weather-app'], image: null, environments: {} },
  ]);
});

it('reports the image digest and, per environment, in-sync, drift or unreachable', async () => {
  const head = git(repo, ['rev-parse', 'HEAD']);
  const digest = await pushImage(registry.host, 'slipway/weather-app', contentTag(keys['weather-app']!), {
    'org.opencontainers.image.revision': head,
  });
  staging.serve({ contentKey: keys['weather-app'], commit: head });
  const nothingListening = await unusedLoopbackUrl();

  const result = await status(['--format', 'json', '--timeout', '2'], {
    SLIPWAY_IMAGE_REPOSITORY: `${registry.host}/slipway`,
    WEATHER_APP_STAGING_URL: staging.url,
    WEATHER_APP_PRODUCTION_URL: nothingListening,
    STATUS_APP_STAGING_URL: `${staging.url}/`,
  });

  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([
    {
      app: 'status-app',
      contentKey: keys['status-app'],
      image: null,
      environments: {
        staging: { url: staging.url, contentKey: keys['weather-app'], commit: head, state: 'drift' },
      },
    },
    {
      app: 'weather-app',
      contentKey: keys['weather-app'],
      image: digest,
      environments: {
        production: { url: nothingListening, contentKey: null, commit: null, state: 'unreachable' },
        staging: { url: staging.url, contentKey: keys['weather-app'], commit: head, state: 'in-sync' },
      },
    },
  ]);
  expect(result.stderr).toContain('weather-app: production cannot be asked');
});

it('prints a table by default', async () => {
  const result = await status([], {});
  expect(result.code).toBe(0);
  expect(result.stdout.split('\n')[0]).toMatch(
    /^APP\s+CONTENT KEY\s+IMAGE\s+ENVIRONMENT\s+SERVES\s+COMMIT\s+STATE$/,
  );
  expect(result.stdout).toContain(`weather-app  ${keys['weather-app']}  -`);
});

it('says when the registry cannot be asked, and still answers', async () => {
  const nothingListening = new URL(await unusedLoopbackUrl()).host;
  const result = await status(['--format', 'json', '--timeout', '1'], {
    SLIPWAY_IMAGE_REPOSITORY: `${nothingListening}/slipway`,
  });
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout).map((entry: { image: unknown }) => entry.image)).toEqual([null, null]);
  expect(result.stderr).toContain(
    `weather-app: cannot ask the registry about ${nothingListening}/slipway/weather-app`,
  );
});

it('refuses an environment URL with credentials, without printing them', async () => {
  const result = await status(['--format', 'json'], {
    WEATHER_APP_STAGING_URL: 'https://user:s3cret@example.com',
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('WEATHER_APP_STAGING_URL must not contain credentials');
  expect(result.stderr).not.toContain('s3cret');
});

it.each([
  ['SLIPWAY_IMAGE_REPOSITORY', 'u:s3cretPW@127.0.0.1:9/x', 's3cretPW'],
  ['CI_REGISTRY_IMAGE', 'deploy-s3cretUSER@registry.example.com/group/project', 's3cretUSER'],
])(
  'refuses a %s with credentials before the host, naming the variable and printing no part of them',
  async (variable, value, secret) => {
    const result = await status(['--format', 'json', '--timeout', '1'], { [variable]: value });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `slipway status: ${variable} must not contain credentials (user:password@ or user@ before the host); ` +
        'registry credentials belong in CI_REGISTRY_USER and CI_REGISTRY_PASSWORD\n',
    );
    expect(result.stdout + result.stderr).not.toContain(secret);
  },
);

it.each([[['--format', 'xml']], [['--timeout', '0']], [['--timeout', 'soon']], [['extra']]])(
  'rejects %j as a usage error',
  (args) => {
    expect(() => parseStatusOptions(args)).toThrow(CliUsageError);
  },
);
