// The reconciling planner against Debian's docker-registry on loopback and two environments' /version stand-ins:
// the issue's cases (a) to (e), the scheduled drift report, and hostile or odd input (issue 14, items 3 and 4).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli';
import { run as runPlanCommand } from '../src/commands/plan';
import { computeContentKeys } from '../src/plan/content-key';
import { listChangedFiles, resolveCommit } from '../src/plan/git';
import { planChildPipelines } from '../src/plan/plan-child-pipelines';
import { contentTag, RegistryClient } from '../src/plan/registry';
import { renderChildPipeline } from '../src/plan/render-child-pipeline';
import {
  appendToFile,
  commitAll,
  git,
  makeTempDir,
  removeDir,
  writeFile,
} from './support/fixture-repository';
import {
  type FakeEnvironment,
  type LocalRegistry,
  pushImage,
  startFakeEnvironment,
  startLocalRegistry,
} from './support/local-registry';
import { createTwoAppRepository } from './support/two-app-repository';

const APPS = ['status-app', 'weather-app'] as const;
type App = (typeof APPS)[number];

let work: string;
let upstream: string;
let initial: string;
let registry: LocalRegistry;
const staging: Partial<Record<App, FakeEnvironment>> = {};
const dirs: string[] = [];
let repositoryCounter = 0;

beforeAll(async () => {
  work = makeTempDir('reconcile');
  upstream = join(work, 'upstream');
  mkdirSync(upstream);
  initial = createTwoAppRepository(upstream);
  registry = await startLocalRegistry(work);
  for (const app of APPS) staging[app] = await startFakeEnvironment();
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  for (const app of APPS) await staging[app]?.close();
  dirs.forEach(removeDir);
  removeDir(work);
});

/** A fresh clone of the upstream on main and a registry repository of its own, like one GitLab project. */
function newProject(): { repo: string; repository: string } {
  const repo = makeTempDir('reconcile-clone');
  dirs.push(repo);
  git(repo, ['clone', '--quiet', `file://${upstream}`, '.']);
  repositoryCounter += 1;
  return { repo, repository: `${registry.host}/project-${repositoryCounter}` };
}

async function contentKeys(repo: string): Promise<Record<App, string>> {
  const keys = await computeContentKeys(repo, process.env);
  return Object.fromEntries(keys.map((key) => [key.path.replace('apps/', ''), key.contentKey])) as Record<
    App,
    string
  >;
}

/** What a successful default-branch pipeline leaves behind: an image per content key, and staging serving it. */
async function buildAndDeploy(repo: string, repository: string, apps: readonly App[] = APPS) {
  const commit = git(repo, ['rev-parse', 'HEAD']);
  const keys = await contentKeys(repo);
  const digests: Partial<Record<App, string>> = {};
  for (const app of apps) {
    digests[app] = await buildOnly(repository, app, keys[app], commit);
    staging[app]!.serve({ contentKey: keys[app], commit });
  }
  return { keys, digests, commit };
}

function buildOnly(repository: string, app: App, key: string, commit: string): Promise<string> {
  const name = `${repository.slice(registry.host.length + 1)}/${app}`;
  return pushImage(
    registry.host,
    name,
    contentTag(key),
    { 'org.opencontainers.image.revision': commit },
    key,
  );
}

function ciEnvironment(repository: string, variables: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CI_DEFAULT_BRANCH: 'main',
    SLIPWAY_IMAGE_REPOSITORY: repository,
    WEATHER_APP_STAGING_URL: staging['weather-app']!.url,
    STATUS_APP_STAGING_URL: staging['status-app']!.url,
    ...variables,
  };
}

function push(repository: string, before: string, after: string): NodeJS.ProcessEnv {
  return ciEnvironment(repository, {
    CI_PIPELINE_SOURCE: 'push',
    CI_COMMIT_BRANCH: 'main',
    CI_COMMIT_BEFORE_SHA: before,
    CI_COMMIT_SHA: after,
  });
}

async function plan(repo: string, env: NodeJS.ProcessEnv, base?: string) {
  const log: string[] = [];
  const result = await planChildPipelines({
    cwd: repo,
    env,
    base,
    log: (line) => log.push(line),
    timeoutMs: 2000,
  });
  const byApp = Object.fromEntries(result.decisions.map((decision) => [decision.app, decision]));
  return { ...result, byApp, log };
}

describe('the default branch reconciles with the registry and staging', () => {
  it('skips every app that has an image and whose staging serves its content', async () => {
    const { repo, repository } = newProject();
    const { keys } = await buildAndDeploy(repo, repository);
    appendToFile(repo, 'README.md', '\nDocs only.\n');
    const head = commitAll(repo, 'docs: more words');

    const result = await plan(repo, push(repository, initial, head));

    expect(result.mode).toBe('default-branch');
    expect(result.apps).toEqual([]);
    expect(result.byApp['weather-app']?.reason).toMatch(
      new RegExp(`^staging serves content ${keys['weather-app'].slice(0, 12)}: in sync; image sha256:`),
    );
    expect(result.range).toBeUndefined();
  });

  it('(b) a cancelled pipeline: the next push builds and deploys the change it missed', async () => {
    const { repo, repository } = newProject();
    await buildAndDeploy(repo, repository);
    appendToFile(repo, 'apps/weather-app/src/weather/views.ts', '\n// push A: its pipeline was cancelled\n');
    const pushA = commitAll(repo, 'feat(weather-app): push A');
    appendToFile(repo, 'README.md', '\nPush B: docs only.\n');
    const pushB = commitAll(repo, 'docs: push B');

    const result = await plan(repo, push(repository, pushA, pushB));
    const keys = await contentKeys(repo);

    expect(result.apps.map((app) => [app.app, app.contentKey])).toEqual([
      ['weather-app', keys['weather-app']],
    ]);
    expect(result.byApp['weather-app']?.reason).toBe(
      `content ${keys['weather-app'].slice(0, 12)} has no image yet`,
    );
    expect(result.byApp['status-app']?.run).toBe(false);
    expect(renderChildPipeline(result)).toContain(`SLIPWAY_CONTENT_KEY: ${keys['weather-app']}`);
  });

  it('(b) a build that finished but a deploy that was cancelled: staging is drift, and the app runs', async () => {
    const { repo, repository } = newProject();
    const before = await buildAndDeploy(repo, repository);
    appendToFile(repo, 'apps/weather-app/src/weather/views.ts', '\n// built, never deployed\n');
    const pushA = commitAll(repo, 'feat(weather-app): push A');
    const keys = await contentKeys(repo);
    await buildOnly(repository, 'weather-app', keys['weather-app'], pushA);
    appendToFile(repo, 'README.md', '\nPush B.\n');
    const pushB = commitAll(repo, 'docs: push B');

    const result = await plan(repo, push(repository, pushA, pushB));

    expect(result.apps.map((app) => app.app)).toEqual(['weather-app']);
    expect(result.byApp['weather-app']?.reason).toContain(
      `drift: staging serves content ${before.keys['weather-app'].slice(0, 12)}`,
    );
    expect(result.byApp['weather-app']?.reason).toContain(`(built by ${pushA.slice(0, 12)})`);
  });

  it('(c) a force push: staging goes back to the content of the new head', async () => {
    const { repo, repository } = newProject();
    const atA = await buildAndDeploy(repo, repository);
    appendToFile(repo, 'apps/weather-app/src/weather/views.ts', '\n// B: deployed, then force-pushed away\n');
    const pushB = commitAll(repo, 'feat(weather-app): B');
    await buildAndDeploy(repo, repository, ['weather-app']);
    git(repo, ['reset', '--quiet', '--hard', initial]);
    appendToFile(repo, 'README.md', '\nC: docs only.\n');
    const pushC = commitAll(repo, 'docs: C');

    const result = await plan(repo, push(repository, pushB, pushC));

    expect(result.apps.map((app) => [app.app, app.contentKey])).toEqual([
      ['weather-app', atA.keys['weather-app']],
    ]);
    expect(result.byApp['weather-app']?.reason).toMatch(/^drift: staging serves content /);
  });

  it('(c) a force push with no registry or staging to ask: the trees are compared, not the merge base', async () => {
    const { repo } = newProject();
    appendToFile(repo, 'apps/weather-app/src/weather/views.ts', '\n// B\n');
    const pushB = commitAll(repo, 'feat(weather-app): B');
    git(repo, ['reset', '--quiet', '--hard', initial]);
    appendToFile(repo, 'README.md', '\nC.\n');
    const pushC = commitAll(repo, 'docs: C');
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_PIPELINE_SOURCE: 'push',
      CI_DEFAULT_BRANCH: 'main',
      CI_COMMIT_BRANCH: 'main',
      CI_COMMIT_BEFORE_SHA: pushB,
      CI_COMMIT_SHA: pushC,
    };

    const result = await plan(repo, env);

    expect(result.range).toMatchObject({ base: pushB, head: pushC, comparison: 'tree' });
    expect(result.apps.map((app) => app.app)).toEqual(['weather-app']);
    expect(result.byApp['weather-app']?.reason).toContain('apps/weather-app/src/weather/views.ts changed');
    expect(result.byApp['status-app']?.run).toBe(false);
  });

  it('falls back to the diff when staging does not answer, and says so', async () => {
    const { repo, repository } = newProject();
    await buildAndDeploy(repo, repository);
    const previous = git(repo, ['rev-parse', 'HEAD']);
    appendToFile(repo, 'README.md', '\nDocs.\n');
    const head = commitAll(repo, 'docs: words');
    staging['weather-app']!.serve(undefined);

    const result = await plan(repo, push(repository, previous, head));

    expect(result.byApp['weather-app']).toMatchObject({ run: false });
    expect(result.byApp['weather-app']?.reason).toMatch(
      /^image sha256:[0-9a-f]{12} \(built by [0-9a-f]{12}\), staging cannot be asked \(http:\/\/127\.0\.0\.1:\d+\/version answered HTTP 503\); so the diff [0-9a-f]{12}\.\.[0-9a-f]{12} .*: not affected$/,
    );
  });

  it('(e) a re-run at the same commit gets the same content key and the same image digest', async () => {
    const { repo, repository } = newProject();
    const { keys, digests } = await buildAndDeploy(repo, repository);
    const head = git(repo, ['rev-parse', 'HEAD']);

    const first = await plan(repo, push(repository, initial, head));
    const again = await plan(repo, push(repository, initial, head));
    const lookup = await new RegistryClient({ repository }).lookup(
      'weather-app',
      contentTag(keys['weather-app']),
    );

    expect(again.decisions).toEqual(first.decisions);
    expect(again.byApp['weather-app']?.contentKey).toBe(keys['weather-app']);
    expect(lookup).toMatchObject({ state: 'found', digest: digests['weather-app'], commit: head });
  });
});

describe('a semver tag', () => {
  it('(a) releases every app by the content key staging verified, though the tag commit rebuilt nothing', async () => {
    const { repo, repository } = newProject();
    appendToFile(repo, 'apps/weather-app/src/weather/views.ts', '\n// deployed to staging\n');
    commitAll(repo, 'feat(weather-app): a change');
    const verified = await buildAndDeploy(repo, repository);
    appendToFile(repo, 'README.md', '\nRelease notes.\n');
    const docsOnly = commitAll(repo, 'docs: release notes');
    git(repo, ['tag', 'v1.2.3']);

    const result = await plan(
      repo,
      ciEnvironment(repository, {
        CI_PIPELINE_SOURCE: 'push',
        CI_COMMIT_TAG: 'v1.2.3',
        CI_COMMIT_SHA: docsOnly,
        CI_COMMIT_BEFORE_SHA: '0'.repeat(40),
      }),
    );
    const client = new RegistryClient({ repository });

    expect(result.mode).toBe('tag');
    expect(result.apps.map((app) => [app.app, app.contentKey])).toEqual(
      APPS.map((app) => [app, verified.keys[app]]),
    );
    for (const app of APPS) {
      await expect(client.lookup(app, contentTag(verified.keys[app]))).resolves.toMatchObject({
        state: 'found',
        digest: verified.digests[app],
      });
    }
  });
});

describe('a merge request', () => {
  it('(d) a merged-results pipeline compares the merge commit with the target branch head: no app', async () => {
    const { repo, repository } = newProject();
    git(repo, ['checkout', '--quiet', '-b', 'docs-only', initial]);
    appendToFile(repo, 'README.md', '\nThe merge request adds only this.\n');
    const mergeRequestHead = commitAll(repo, 'docs: words');
    git(repo, ['checkout', '--quiet', 'main']);
    appendToFile(repo, 'apps/weather-app/src/weather/views.ts', '\n// main gained this meanwhile\n');
    const targetHead = commitAll(repo, 'feat(weather-app): on main');
    git(repo, ['checkout', '--quiet', '--detach', targetHead]);
    git(repo, ['merge', '--quiet', '--no-ff', '--no-edit', mergeRequestHead]);
    const mergeCommit = git(repo, ['rev-parse', 'HEAD']);
    const mergedResults = ciEnvironment(repository, {
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '7',
      CI_MERGE_REQUEST_EVENT_TYPE: 'merged_result',
      CI_MERGE_REQUEST_DIFF_BASE_SHA: initial,
      CI_MERGE_REQUEST_TARGET_BRANCH_SHA: targetHead,
      CI_COMMIT_SHA: mergeCommit,
    });

    const result = await plan(repo, mergedResults);
    const { CI_MERGE_REQUEST_TARGET_BRANCH_SHA: _omitted, ...diffBaseOnly } = mergedResults;
    const blamed = await plan(repo, diffBaseOnly);

    expect(result.mode).toBe('merge-request');
    expect(result.range).toMatchObject({ base: targetHead, baseSource: 'merged-result' });
    expect(result.apps).toEqual([]);
    // Without the target branch head, the weather-app change main gained would be blamed on the merge request.
    expect(blamed.apps.map((app) => app.app)).toEqual(['weather-app']);
  });

  it('runs an app the merge request changes, whatever the registry or staging hold', async () => {
    const { repo, repository } = newProject();
    await buildAndDeploy(repo, repository);
    git(repo, ['checkout', '--quiet', '-b', 'feature']);
    appendToFile(repo, 'apps/status-app/src/index.js', '// the merge request changes this\n');
    const head = commitAll(repo, 'feat(status-app): a change');

    const result = await plan(
      repo,
      ciEnvironment(repository, {
        CI_PIPELINE_SOURCE: 'merge_request_event',
        CI_MERGE_REQUEST_IID: '8',
        CI_MERGE_REQUEST_DIFF_BASE_SHA: initial,
        CI_COMMIT_SHA: head,
      }),
    );

    expect(result.apps.map((app) => [app.app, app.reason])).toEqual([
      ['status-app', 'apps/status-app/src/index.js changed'],
    ]);
  });
});

describe('a scheduled pipeline', () => {
  it('reports drift for every app and redeploys the app whose staging was set back by hand', async () => {
    const { repo, repository } = newProject();
    const { keys } = await buildAndDeploy(repo, repository);
    staging['weather-app']!.serve({ contentKey: 'feedfacefeedface', commit: 'a'.repeat(40) });

    const result = await plan(
      repo,
      ciEnvironment(repository, {
        CI_PIPELINE_SOURCE: 'schedule',
        CI_COMMIT_BRANCH: 'main',
        CI_COMMIT_BEFORE_SHA: '0'.repeat(40),
        CI_COMMIT_SHA: git(repo, ['rev-parse', 'HEAD']),
      }),
    );

    expect(result.mode).toBe('schedule');
    expect(result.apps.map((app) => [app.app, app.contentKey])).toEqual([
      ['weather-app', keys['weather-app']],
    ]);
    expect(result.byApp['weather-app']?.reason).toMatch(
      /^drift: staging serves content feedfacefeed \(commit aaaaaaaaaaaa\), HEAD's content is /,
    );
    expect(result.byApp['status-app']?.reason).toMatch(/^staging serves content [0-9a-f]{12}: in sync/);
  });
});

describe('hostile and odd input (issue 14)', () => {
  const INJECTION = ' --upload-pack=touch pwned;';

  it('never runs `slipway plan --base " --upload-pack=touch pwned;"`: a usage error, and no file appears', async () => {
    const { repo } = newProject();
    const cwd = process.cwd();
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.chdir(repo);
    try {
      await expect(runPlanCommand(['--base', INJECTION])).rejects.toThrow(
        '--base must be a commit, not an option: "--upload-pack=touch pwned;"',
      );
    } finally {
      process.chdir(cwd);
      stderr.mockRestore();
    }
    expect(existsSync(join(repo, 'pwned'))).toBe(false);
  });

  it.each([
    'CI_COMMIT_SHA',
    'CI_COMMIT_BEFORE_SHA',
    'CI_MERGE_REQUEST_DIFF_BASE_SHA',
    'CI_MERGE_REQUEST_TARGET_BRANCH_SHA',
  ])('refuses a %s that is not a SHA, naming it, and runs nothing', async (variable) => {
    const { repo } = newProject();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_DEFAULT_BRANCH: 'main',
      [variable]: INJECTION,
    };

    await expect(planChildPipelines({ cwd: repo, env })).rejects.toThrow(
      `${variable} must be a full commit SHA (40 or 64 hex digits), got "--upload-pack=touch pwned;"`,
    );
    expect(existsSync(join(repo, 'pwned'))).toBe(false);
  });

  it.each([
    ['SLIPWAY_IMAGE_REPOSITORY', (host: string) => `u:s3cretPW@${host}/project`, 's3cretPW'],
    ['CI_REGISTRY_IMAGE', (host: string) => `deploy-s3cretUSER@${host}/project`, 's3cretUSER'],
  ])(
    'refuses a %s with credentials before the host: exit 1, no file, the secret nowhere',
    async (variable, repositoryWith, secret) => {
      const { repo } = newProject();
      const out = join(repo, 'child-pipeline.yml');
      // A push to the default branch: the plan asks the registry about every app.
      const env = ciEnvironment('', { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_BRANCH: 'main' });
      delete env.SLIPWAY_IMAGE_REPOSITORY;
      env[variable] = repositoryWith(registry.host);
      let stdout = '';
      let stderr = '';
      const code = await main(['plan', '--out', out], {
        env,
        cwd: repo,
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        stdin: process.stdin,
      });

      expect(code).toBe(1);
      expect(stderr).toContain(
        `slipway plan: ${variable} must not contain credentials (user:password@ or user@ before the host); ` +
          'registry credentials belong in CI_REGISTRY_USER and CI_REGISTRY_PASSWORD\n',
      );
      expect(stdout + stderr).not.toContain(secret);
      // Nothing is written, so the child pipeline (and the job that runs it) never sees the value.
      expect(existsSync(out)).toBe(false);
    },
  );

  it('refuses a CI_DEFAULT_BRANCH that would read as an option', async () => {
    const { repo } = newProject();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_DEFAULT_BRANCH: INJECTION,
      CI_COMMIT_BEFORE_SHA: '0'.repeat(40),
    };
    await expect(planChildPipelines({ cwd: repo, env })).rejects.toThrow(
      'CI_DEFAULT_BRANCH must be a commit, not an option',
    );
    expect(existsSync(join(repo, 'pwned'))).toBe(false);
  });

  it('refuses a CI_COMMIT_TAG with a line break, which would forge lines in the job log', async () => {
    const { repo } = newProject();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_COMMIT_TAG: 'v1.0.0\n  run   status-app: forged',
    };
    await expect(planChildPipelines({ cwd: repo, env })).rejects.toThrow(
      'CI_COMMIT_TAG must be a commit or ref name without whitespace',
    );
  });

  it('accepts an uppercase SHA with stray whitespace, normalised', async () => {
    const { repo } = newProject();
    const head = git(repo, ['rev-parse', 'HEAD']);
    const result = await plan(repo, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_COMMIT_BEFORE_SHA: ` ${initial.toUpperCase()}\n`,
      CI_COMMIT_SHA: head,
    });
    expect(result.range?.base).toBe(initial);
  });

  it('puts --end-of-options before revisions, so git reads an option-like revision as a revision', async () => {
    const { repo } = newProject();
    const target = join(repo, 'written-by-git');
    await expect(listChangedFiles(repo, `--output=${target}`, 'HEAD')).rejects.toThrow();
    await expect(listChangedFiles(repo, 'HEAD', `--output=${target}`, 'tree')).rejects.toThrow();
    await expect(resolveCommit(repo, `--output=${target}`)).resolves.toBeUndefined();
    expect(existsSync(target)).toBe(false);
  });

  it('plans an app whose only change is a path git would quote (apps/weather-app/src/ü.ts)', async () => {
    const { repo } = newProject();
    git(repo, ['checkout', '--quiet', '-b', 'feature']);
    writeFile(repo, 'apps/weather-app/src/ü.ts', 'export const ü = 1;\n');
    const head = commitAll(repo, 'feat(weather-app): a quoted path');
    expect(git(repo, ['diff', '--name-only', `${initial}...${head}`])).toBe(
      '"apps/weather-app/src/\\303\\274.ts"',
    );

    const result = await plan(repo, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_COMMIT_BEFORE_SHA: initial,
      CI_COMMIT_SHA: head,
    });

    expect(result.apps.map((app) => [app.app, app.reason])).toEqual([
      ['weather-app', 'apps/weather-app/src/ü.ts changed'],
    ]);
  });

  it('treats a change under apps/<app>/src/docs/ as code', async () => {
    const { repo } = newProject();
    git(repo, ['checkout', '--quiet', '-b', 'feature']);
    writeFile(repo, 'apps/weather-app/src/docs/help.md', '# Served help\n');
    const head = commitAll(repo, 'feat(weather-app): served help');

    const result = await plan(repo, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI_COMMIT_BEFORE_SHA: initial,
      CI_COMMIT_SHA: head,
    });

    expect(result.apps.map((app) => [app.app, app.reason])).toEqual([
      ['weather-app', 'apps/weather-app/src/docs/help.md changed'],
    ]);
  });
});
