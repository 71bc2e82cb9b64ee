import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeGitlab, type FakeGitlab } from './support/fake-gitlab';
import { runSlipwayGitlab } from './support/fake-gitlab-cli';
import { RECONCILE_SCHEDULE_DESCRIPTION } from '../src/gitlab/pipeline-schedule';

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
    expect(fake.protectedTags).toEqual([{ name: 'v*', create_access_levels: [{ access_level: 40 }] }]);
    expect(result.stdout).toContain('created   OPENWEATHER_API_KEY [production/*] (masked, protected)');
    expect(result.stdout).toContain('protected tags v*: only Maintainers may create them');
    expect(result.stdout).toContain('9 change(s) applied');
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
    expect(second.stdout).toContain('unchanged protected tags v*');
    expect(second.stdout).toContain('unchanged pipeline schedule');
    expect(fake.pipelineSchedules).toHaveLength(1);
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

  it('refuses a key GitLab could not mask, without printing it or anything about it', async () => {
    for (const key of ['has space in it', 'short']) {
      const result = await runSlipwayGitlab(fake, setupArgs(), { env: { OPENWEATHER_API_KEY: key } });
      expect(result.exitCode).toBe(2);
      // The rule, never which part of it the value breaks: "shorter than 8 characters" would tell its length.
      expect(result.stderr).toContain(
        'OPENWEATHER_API_KEY cannot be a masked variable: GitLab masks a raw variable only when its value has 8 or more characters and no whitespace',
      );
      expect(result.stderr).not.toMatch(/shorter|contains whitespace|\[masked\]/);
      expect(result.stderr).not.toContain(key);
    }
    expect(writes()).toHaveLength(0);
  });

  it('masks raw variables by the raw rule: 8+ characters without whitespace, any other character allowed', async () => {
    // Expanded variables allow only the Base64 alphabet and @ : . ~; setup writes raw ones, where ? & % are fine.
    const key = 'k3y?with&odd%chars!';
    const webhook = 'https://hooks.example.com/services/T0/B0/x?token=abc&sig=%2F';
    const result = await runSlipwayGitlab(fake, [...setupArgs(), '--skip-protected-tags'], {
      env: { OPENWEATHER_API_KEY: key, SLIPWAY_NOTIFY_WEBHOOK_URL: webhook },
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const stored = fake.variables.filter((v) => v.masked);
    expect(stored.map((v) => [v.key, v.raw, v.value === key || v.value === webhook])).toEqual([
      ['OPENWEATHER_API_KEY', true, true],
      ['OPENWEATHER_API_KEY', true, true],
      ['SLIPWAY_NOTIFY_WEBHOOK_URL', true, true],
      ['SLIPWAY_NOTIFY_WEBHOOK_URL', true, true],
    ]);
    expect(result.stdout).not.toContain('odd%chars');
    expect(result.stdout).toContain('protected tags: skipped (--skip-protected-tags)');
  });

  it('keeps GitLab\'s masked-value rule on update: an expanded masked variable with "?" is refused', async () => {
    await runSlipwayGitlab(fake, setupArgs(), { env });
    // Someone turned "Expand variable reference" on in the UI: the stricter rule now applies to the new value.
    for (const v of fake.variables.filter((v) => v.key === 'OPENWEATHER_API_KEY')) v.raw = false;
    const expanded = await runSlipwayGitlab(fake, setupArgs(), {
      env: { OPENWEATHER_API_KEY: 'new?key&value' },
    });
    // setup writes raw: true with the value, so GitLab accepts it and the variable is raw again.
    expect(expanded.exitCode).toBe(0);
    expect(expanded.stdout).toContain(
      'updated   OPENWEATHER_API_KEY [staging/*] (masked, protected): value, raw',
    );
    expect(fake.variables.filter((v) => v.key === 'OPENWEATHER_API_KEY').every((v) => v.raw)).toBe(true);
    // The fake refuses what GitLab refuses: the same value on an expanded masked variable.
    const staging = fake.variables.find((v) => v.key === 'OPENWEATHER_API_KEY')!;
    const put = await fetch(
      `${fake.url}/api/v4/projects/${fake.project.id}/variables/OPENWEATHER_API_KEY?filter[environment_scope]=${encodeURIComponent(staging.environment_scope)}`,
      {
        method: 'PUT',
        headers: { 'private-token': fake.token, 'content-type': 'application/json' },
        body: JSON.stringify({ value: 'other?value&x', raw: false }),
      },
    );
    expect(put.status).toBe(400);
  });

  it('rewrites a hidden variable (GitLab answers its value as null) and updates a changed description', async () => {
    await runSlipwayGitlab(fake, setupArgs(), { env });
    for (const v of fake.variables.filter((v) => v.key === 'OPENWEATHER_API_KEY')) {
      v.hidden = true; // "Masked and hidden" in the UI
      v.value = 'the-old-rotated-key';
    }
    const kube = fake.variables.find((v) => v.key === 'KUBECONFIG')!;
    kube.description = 'an old description';
    const rotated = 'owm-rotated-key-0123456789';
    const result = await runSlipwayGitlab(fake, setupArgs(), { env: { OPENWEATHER_API_KEY: rotated } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'updated   OPENWEATHER_API_KEY [production/*] (masked, protected): value (hidden, so not comparable: rewritten)',
    );
    expect(fake.variables.filter((v) => v.key === 'OPENWEATHER_API_KEY').map((v) => v.value)).toEqual([
      rotated,
      rotated,
    ]);
    expect(result.stdout).toContain(
      `updated   KUBECONFIG [${kube.environment_scope}] (file, protected): description`,
    );
    expect(kube.description).toBe('kubeconfig of the kubernetes deploy driver; kubectl reads KUBECONFIG');
    expect(result.stdout + result.stderr).not.toContain(rotated);
  });

  it('explains a token that may not protect tags, and how to proceed', async () => {
    fake.userAccessLevel = 30;
    const result = await runSlipwayGitlab(fake, [...setupArgs(), '--skip-protected-environments'], { env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/protected tags API answered HTTP 403.*Maintainer.*--skip-protected-tags/);
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

  describe('the reconciling pipeline schedule', () => {
    it('creates an hourly schedule on the default branch, once', async () => {
      const first = await runSlipwayGitlab(fake, setupArgs(), { env });
      expect(first.exitCode).toBe(0);
      expect(first.stdout).toMatch(
        /created +pipeline schedule "slipway: reconcile environments.*17 \* \* \* \* UTC on main/,
      );
      expect(fake.pipelineSchedules).toEqual([
        expect.objectContaining({
          description: RECONCILE_SCHEDULE_DESCRIPTION,
          // The fake lists the branch expanded, as GitLab 16.9+ does; the second run must not see drift in it.
          ref: 'refs/heads/main',
          cron: '17 * * * *',
          cron_timezone: 'UTC',
          active: true,
        }),
      ]);
      const writesAfterFirstRun = writes().length;
      const second = await runSlipwayGitlab(fake, setupArgs(), { env });
      expect(second.stdout).toContain('unchanged pipeline schedule');
      expect(writes()).toHaveLength(writesAfterFirstRun);
    });

    it('repairs a drifted schedule in place and takes --schedule-cron', async () => {
      fake.pipelineSchedules = [
        {
          id: 7,
          description: RECONCILE_SCHEDULE_DESCRIPTION,
          ref: 'refs/heads/old-main',
          cron: '0 3 * * *',
          cron_timezone: 'Europe/Berlin',
          active: false,
        },
      ];
      const result = await runSlipwayGitlab(fake, [...setupArgs(), '--schedule-cron', '*/30 * * * *'], {
        env,
      });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(
        /updated +pipeline schedule .*ref refs\/heads\/old-main -> main, cron 0 3 \* \* \* -> \*\/30 \* \* \* \*, time zone Europe\/Berlin -> UTC, inactive -> active/,
      );
      expect(fake.pipelineSchedules).toEqual([
        {
          id: 7,
          description: RECONCILE_SCHEDULE_DESCRIPTION,
          ref: 'refs/heads/main',
          cron: '*/30 * * * *',
          cron_timezone: 'UTC',
          active: true,
        },
      ]);
    });

    it('leaves schedules alone with --skip-schedule', async () => {
      const result = await runSlipwayGitlab(fake, [...setupArgs(), '--skip-schedule'], { env });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('pipeline schedule: skipped (--skip-schedule)');
      expect(fake.requests.filter((r) => r.path.includes('pipeline_schedules'))).toEqual([]);
    });

    it('refuses a --schedule-cron that is not five cron fields, before calling GitLab', async () => {
      const result = await runSlipwayGitlab(fake, [...setupArgs(), '--schedule-cron', 'hourly'], { env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/--schedule-cron expects five cron fields.*got "hourly"/);
      expect(fake.requests).toEqual([]);
    });
  });
});
