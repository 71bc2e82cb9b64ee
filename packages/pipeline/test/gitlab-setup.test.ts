import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeGitlab, type FakeGitlab } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';

const API_KEY = 'owm0123456789abcdefSECRET';
const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\n# kube-secret-marker\n';
const REGISTRY_AUTH = '{"auths":{"registry.example.com":{"auth":"cmVnLXNlY3JldC1tYXJrZXI="}}}\n';

let fake: FakeGitlab;
let repo: string;
beforeEach(async () => {
  fake = await startFakeGitlab();
  repo = mkdtempSync(path.join(tmpdir(), 'slipway-setup-'));
  mkdirSync(path.join(repo, 'apps', 'weather-app'), { recursive: true });
  mkdirSync(path.join(repo, 'apps', 'news-app'), { recursive: true });
  // The secret setup stores comes from the app's own declaration, not from the CLI.
  writeFileSync(
    path.join(repo, 'apps', 'weather-app', 'package.json'),
    JSON.stringify({
      name: '@slipway/weather-app',
      slipway: {
        variables: {
          OPENWEATHER_API_KEY: {
            description: 'OpenWeather API key',
            example: 'example-key',
            secret: true,
            environments: ['staging/*', 'production/*'],
            unset: 'the app falls back to its demo provider',
          },
        },
      },
    }),
  );
  writeFileSync(path.join(repo, 'kubeconfig.yaml'), KUBECONFIG);
  writeFileSync(path.join(repo, 'auth.json'), REGISTRY_AUTH);
});
afterEach(async () => {
  await fake.stop();
  rmSync(repo, { recursive: true, force: true });
});

const setupArgs = () => [
  'setup',
  ...['--repo-root', repo, '--kubeconfig-file', path.join(repo, 'kubeconfig.yaml')],
  ...['--registry-auth-file', path.join(repo, 'auth.json')],
];
const env = { OPENWEATHER_API_KEY: API_KEY };
const writes = () => fake.requests.filter((r) => r.method !== 'GET');
/** What setup decided for each variable, in the order it created them. */
const variableSummary = (gitlab: FakeGitlab) =>
  gitlab.variables.map((v) => [v.key, v.environment_scope, v.variable_type, v.masked, v.protected]);

describe('slipway gitlab setup', () => {
  it('creates scoped, masked, protected and file variables and protects production environments', async () => {
    const result = await runSlipwayGitlab(fake, setupArgs(), { env });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(variableSummary(fake)).toEqual([
      ['OPENWEATHER_API_KEY', 'production/*', 'env_var', true, true],
      ['OPENWEATHER_API_KEY', 'staging/*', 'env_var', true, true],
      ['REGISTRY_AUTH_FILE', '*', 'file', false, false],
      ['KUBECONFIG', 'production/*', 'file', false, true],
      ['KUBECONFIG', 'staging/*', 'file', false, true],
    ]);
    expect(fake.variables.find((v) => v.key === 'KUBECONFIG')?.value).toBe(KUBECONFIG);
    expect(fake.variables.every((v) => v.raw)).toBe(true);
    expect(
      fake.protectedEnvironments.map((e) => [e.name, e.deploy_access_levels.map((l) => l.access_level)]),
    ).toEqual([
      ['production/news-app', [40]],
      ['production/weather-app', [40]],
    ]);
    expect(result.stdout).toContain('created   OPENWEATHER_API_KEY [production/*] (masked, protected)');
    expect(result.stdout).toContain('7 change(s) applied');
    for (const secret of [API_KEY, 'kube-secret-marker', 'cmVnLXNlY3JldC1tYXJrZXI=']) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it("stores each app's declared secret in the scopes it declares, and never prints it", async () => {
    writeFileSync(
      path.join(repo, 'apps', 'news-app', 'package.json'),
      JSON.stringify({
        name: '@slipway/news-app',
        slipway: {
          variables: {
            DATABASE_URL: {
              description: 'Postgres connection URL',
              example: 'postgres://u:p@db/x',
              secret: true,
              environments: ['staging/*'],
            },
            NEWS_PAGE_SIZE: { description: 'plain setting, not stored by setup', example: '10' },
          },
        },
      }),
    );
    const databaseUrl = 'postgres://news:db-secret-marker@db.example.com:5432/news';
    const result = await runSlipwayGitlab(fake, [...setupArgs(), '--skip-protected-environments'], {
      env: { ...env, DATABASE_URL: databaseUrl },
    });
    expect(result.exitCode).toBe(0);
    expect(
      variableSummary(fake).filter(([key]) => key === 'DATABASE_URL' || key === 'NEWS_PAGE_SIZE'),
    ).toEqual([['DATABASE_URL', 'staging/*', 'env_var', true, true]]);
    expect(fake.variables.find((v) => v.key === 'DATABASE_URL')).toMatchObject({
      value: databaseUrl,
      description: 'declared in apps/news-app/package.json (set by slipway gitlab setup)',
    });
    expect(result.stdout + result.stderr).not.toContain('db-secret-marker');
  });

  it('changes nothing on a second run, and says so', async () => {
    await runSlipwayGitlab(fake, setupArgs(), { env });
    const writesAfterFirstRun = writes().length;
    const second = await runSlipwayGitlab(fake, setupArgs(), { env });
    expect(second.exitCode).toBe(0);
    expect(writes()).toHaveLength(writesAfterFirstRun);
    expect(second.stdout).toContain('nothing changed: the project was already set up');
    expect(second.stdout).toContain('unchanged protected environment production/weather-app');
  });

  it('updates a drifted variable in its own scope only, naming what changed but not the value', async () => {
    await runSlipwayGitlab(fake, setupArgs(), { env });
    const staging = fake.variables.find(
      (v) => v.key === 'OPENWEATHER_API_KEY' && v.environment_scope === 'staging/*',
    )!;
    staging.value = 'an-old-key-value';
    staging.protected = false;
    const result = await runSlipwayGitlab(fake, setupArgs(), { env });
    expect(result.stdout).toContain(
      'updated   OPENWEATHER_API_KEY [staging/*] (masked, protected): value, protected',
    );
    expect(result.stdout).toContain('1 change(s) applied');
    expect(staging).toMatchObject({ value: API_KEY, protected: true });
    const update = writes().at(-1)!;
    expect(update.method).toBe('PUT');
    expect(update.body?.filter).toEqual({ environment_scope: 'staging/*' });
    expect(result.stdout).not.toContain('an-old-key-value');
  });

  it('stores plain settings, the notify webhook and ssh credentials the deploy template reads', async () => {
    writeFileSync(
      path.join(repo, 'known_hosts'),
      'deploy.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownHostMarker\n',
    );
    writeFileSync(
      path.join(repo, 'id_ed25519'),
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAPrivateKeyMarker\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    const webhook = 'https://hooks.example.com/services/T000/B000/webhookSecretMarker';
    const result = await runSlipwayGitlab(
      fake,
      [
        ...[
          'setup',
          '--skip-protected-environments',
          '--set',
          'WEATHER_APP_STAGING_URL=https://staging.example.com',
        ],
        ...[
          '--ssh-key-file',
          path.join(repo, 'id_ed25519'),
          '--ssh-known-hosts-file',
          path.join(repo, 'known_hosts'),
        ],
      ],
      { env: { SLIPWAY_NOTIFY_WEBHOOK_URL: webhook } },
    );
    expect(result.exitCode).toBe(0);
    expect(variableSummary(fake)).toEqual([
      ['SLIPWAY_NOTIFY_WEBHOOK_URL', 'production/*', 'env_var', true, true],
      ['SLIPWAY_NOTIFY_WEBHOOK_URL', 'staging/*', 'env_var', true, true],
      ['SSH_PRIVATE_KEY', 'production/*', 'file', false, true],
      ['SSH_PRIVATE_KEY', 'staging/*', 'file', false, true],
      ['SSH_KNOWN_HOSTS', 'production/*', 'file', false, true],
      ['SSH_KNOWN_HOSTS', 'staging/*', 'file', false, true],
      ['WEATHER_APP_STAGING_URL', '*', 'env_var', false, false],
    ]);
    expect(result.stdout).toContain('OPENWEATHER_API_KEY is not set in the environment: not stored');
    for (const secret of ['webhookSecretMarker', 'PrivateKeyMarker', 'KnownHostMarker']) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    const bad = await runSlipwayGitlab(fake, ['setup', '--set', 'not a name=1']);
    expect(bad).toMatchObject({
      exitCode: 2,
      stderr: expect.stringContaining('--set expects KEY=VALUE with a variable name as KEY'),
    });
  });

  it('refuses a key GitLab could not mask, without printing it', async () => {
    const result = await runSlipwayGitlab(fake, setupArgs(), {
      env: { OPENWEATHER_API_KEY: 'has space in it' },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/OPENWEATHER_API_KEY cannot be a masked variable: it contains whitespace/);
    expect(result.stderr).not.toContain('has space in it');
    expect(writes()).toHaveLength(0);
  });

  it('names an unreadable credentials file', async () => {
    const result = await runSlipwayGitlab(fake, ['setup', '--ssh-key-file', '/nonexistent/id_ed25519'], {
      env,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--ssh-key-file: cannot read "\/nonexistent\/id_ed25519" \(ENOENT\)/);
  });

  it('explains a tier without protected environments and how to proceed', async () => {
    fake.protectedEnvironmentsAvailable = false;
    const result = await runSlipwayGitlab(fake, setupArgs(), { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /protected environments API answered HTTP 403.*Premium.*--skip-protected-environments/,
    );
    const skipped = await runSlipwayGitlab(fake, [...setupArgs(), '--skip-protected-environments'], { env });
    expect(skipped.exitCode).toBe(0);
    expect(skipped.stdout).toContain('protected environments: skipped');
  });

  it('lists variables across pages before deciding what to create', async () => {
    fake.variables = Array.from({ length: 120 }, (_, i) => ({
      key: `OTHER_${i}`,
      value: 'x',
      variable_type: 'env_var' as const,
      protected: false,
      masked: false,
      hidden: false,
      raw: false,
      environment_scope: '*',
      description: null,
    }));
    await runSlipwayGitlab(fake, setupArgs(), { env });
    const second = await runSlipwayGitlab(fake, setupArgs(), { env });
    expect(second.stdout).toContain('nothing changed');
    expect(fake.variables).toHaveLength(125);
  });
});
