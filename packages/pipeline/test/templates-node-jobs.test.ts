// The Node.js jobs of the apps' pipelines as GitLab would expand them (gitlab-ci-local --preview, with GitLab's JSON
// schema; --preview expands each cache's `policy: $SLIPWAY_CACHE_POLICY` with the job's variables): lint and test get their npm and turbo caches, the install and `needs: []` from their template's hidden
// base, written once per template, and saved-cities' migrate jobs reuse test.yml's caches, read only.
import { parse } from 'yaml';
import {
  createRepositoryFromCheckout,
  git,
  makeTempDir,
  removeDir,
  writeFile,
} from './support/fixture-repository';
import { runGitlabCiLocal } from './support/gitlab-ci-local';

type Job = Record<string, unknown>;

let repo: string;

beforeAll(() => {
  repo = makeTempDir('node-jobs');
  createRepositoryFromCheckout(repo);
  writeFile(repo, '.git/info/exclude', '.gitlab-ci-local/\n.gitlab-ci-local-home/\n');
  git(repo, ['update-ref', 'refs/remotes/origin/main', 'HEAD']);
  git(repo, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
});

afterAll(() => removeDir(repo));

async function preview(file: string): Promise<Record<string, Job>> {
  const result = await runGitlabCiLocal({
    cwd: repo,
    file,
    args: ['--preview'],
    stdoutThroughFile: true,
  });
  if (result.code !== 0)
    throw new Error(`gitlab-ci-local failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  expect(`${result.stdout}${result.stderr}`).toMatch(/json schema validated/);
  return parse(result.stdout.slice(result.stdout.indexOf('---'))) as Record<string, Job>;
}

const npmCache = (policy: string) => ({
  key: { prefix: 'slipway-npm', files: ['package-lock.json'] },
  paths: ['.npm/'],
  policy,
  when: 'on_success',
});
const turboCache = (key: string, policy: string) => ({
  key,
  paths: ['.turbo/cache/'],
  policy,
  when: 'on_success',
});
const INSTALL = 'npm ci --prefer-offline --no-audit --no-fund';

describe('the Node.js jobs of apps/saved-cities/.gitlab-ci.yml', () => {
  let jobs: Record<string, Job>;
  beforeAll(async () => {
    jobs = await preview('apps/saved-cities/.gitlab-ci.yml');
  }, 120_000);

  it.each([
    ['saved-cities-lint', 'slipway-turbo-lint-saved-cities'],
    ['saved-cities-test', 'slipway-turbo-test-saved-cities'],
    ['saved-cities-integration-test', 'slipway-turbo-test-saved-cities'],
  ])('%s: npm cache by lockfile, its turbo cache, the install and no wait', (name, turboKey) => {
    const job = jobs[name]!;
    expect(job.cache).toEqual([npmCache('pull-push'), turboCache(turboKey, 'pull-push')]);
    expect(job.variables).toMatchObject({
      npm_config_cache: '$CI_PROJECT_DIR/.npm',
      TURBO_CACHE_DIR: '.turbo/cache',
      TURBO_TELEMETRY_DISABLED: '1',
      SLIPWAY_INSTALL_COMMAND: INSTALL,
      SLIPWAY_CACHE_POLICY: 'pull-push',
    });
    expect(job.image).toEqual({ name: 'node:24.11.1-bookworm-slim' });
    expect(job.needs).toEqual([]);
    expect(job.interruptible).toBe(true);
    expect((job.before_script as string[]).join('\n')).toContain('eval "${SLIPWAY_INSTALL_COMMAND:-');
  });

  it.each(['saved-cities-migrate-staging', 'saved-cities-migrate-production'])(
    '%s: reads the caches without writing them and waits for every earlier stage',
    (name) => {
      const job = jobs[name]!;
      expect(job.cache).toEqual([npmCache('pull'), turboCache('slipway-turbo-test-saved-cities', 'pull')]);
      expect(job.variables).toMatchObject({
        npm_config_cache: '$CI_PROJECT_DIR/.npm',
        SLIPWAY_CACHE_POLICY: 'pull',
      });
      expect(job.image).toEqual({ name: 'node:24.11.1-bookworm-slim' });
      // No `needs`: the migrate step runs after lint, test, build and scan, as its stage says.
      expect(job.needs).toBeUndefined();
      expect(job.interruptible).toBe(false);
      expect(job.script).toEqual([
        INSTALL,
        'npx turbo run build --filter=./apps/saved-cities --output-logs=errors-only',
        'npm run migrate --workspace=apps/saved-cities',
      ]);
    },
  );
});

describe('the Node.js jobs of apps/weather-app/.gitlab-ci.yml', () => {
  it('lint and test each get the npm cache once and their own turbo cache', async () => {
    const jobs = await preview('apps/weather-app/.gitlab-ci.yml');
    expect(jobs['weather-app-lint']?.cache).toEqual([
      npmCache('pull-push'),
      turboCache('slipway-turbo-lint-weather-app', 'pull-push'),
    ]);
    expect(jobs['weather-app-test']?.cache).toEqual([
      npmCache('pull-push'),
      turboCache('slipway-turbo-test-weather-app', 'pull-push'),
    ]);
  }, 120_000);
});
