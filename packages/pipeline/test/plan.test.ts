// `slipway plan` against real git repositories built from this checkout, with the real turbo.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CliUsageError } from '../src/command-line/flags';
import { parsePlanOptions, run as runPlanCommand } from '../src/commands/plan';
import { planChildPipelines, type PlanOptions } from '../src/plan/plan-child-pipelines';
import { renderChildPipeline } from '../src/plan/render-child-pipeline';
import {
  appendToFile,
  commitAll,
  createRepositoryFromCheckout,
  git,
  makeTempDir,
  removeDir,
  writeFile,
} from './support/fixture-repository';

const NO_PREVIOUS_PUSH = '0000000000000000000000000000000000000000';

// A second app that does not depend on service-kit, so "every app that depends on it" and "X only" are
// distinguishable from "every app".
function addStatusApp(repo: string): void {
  writeFile(
    repo,
    'apps/status-app/package.json',
    `${JSON.stringify({ name: '@slipway/status-app', version: '0.1.0', private: true }, null, 2)}\n`,
  );
  writeFile(repo, 'apps/status-app/src/index.js', "console.log('status');\n");
  writeFile(
    repo,
    'apps/status-app/.gitlab-ci.yml',
    readFileSync(join(repo, 'apps/weather-app/.gitlab-ci.yml'), 'utf8').replaceAll(
      'weather-app',
      'status-app',
    ),
  );
}

let upstream: string;
let baseCommit: string;
const clones: string[] = [];

beforeAll(() => {
  upstream = makeTempDir('plan-upstream');
  createRepositoryFromCheckout(upstream);
  // The table is checked with one app on service-kit (weather-app) and one without (status-app); the other
  // reference apps would only lengthen every expectation.
  for (const app of readdirSync(join(upstream, 'apps')).filter((name) => name !== 'weather-app')) {
    rmSync(join(upstream, 'apps', app), { recursive: true, force: true });
  }
  addStatusApp(upstream);
  baseCommit = commitAll(upstream, 'feat: add the status app');
});

afterAll(() => {
  removeDir(upstream);
  clones.forEach(removeDir);
});

/** A clone of the upstream on a new branch from the base commit, like a runner's checkout of a pushed branch. */
function cloneAtBase(branch: string, cloneArgs: string[] = []): string {
  const dir = makeTempDir('plan-clone');
  clones.push(dir);
  git(dir, ['clone', '--quiet', ...cloneArgs, `file://${upstream}`, '.']);
  git(dir, ['checkout', '--quiet', '-b', branch, baseCommit]);
  return dir;
}

async function plan(repo: string, env: NodeJS.ProcessEnv, extra: Partial<PlanOptions> = {}) {
  const log: string[] = [];
  const result = await planChildPipelines({ cwd: repo, env, log: (line) => log.push(line), ...extra });
  return { ...result, log };
}

describe('which apps a change affects (the mapping table)', () => {
  const cases: Array<{
    row: string;
    change: (repo: string) => void;
    expected: Array<{ app: string; reason: string }>;
  }> = [
    {
      row: 'apps/X changes X only',
      change: (repo) => appendToFile(repo, 'apps/weather-app/src/app.ts', '\n// a change\n'),
      expected: [{ app: 'weather-app', reason: 'apps/weather-app/src/app.ts changed' }],
    },
    {
      row: 'packages/service-kit changes every app depending on it',
      change: (repo) => appendToFile(repo, 'packages/service-kit/src/index.ts', '\n// a change\n'),
      expected: [{ app: 'weather-app', reason: 'depends on @slipway/service-kit, which changed' }],
    },
    {
      row: 'ci-templates/ changes every app',
      change: (repo) => appendToFile(repo, 'ci-templates/lint.yml', '\n# a change\n'),
      expected: [
        { app: 'status-app', reason: 'ci-templates/lint.yml changed (affects every app)' },
        { app: 'weather-app', reason: 'ci-templates/lint.yml changed (affects every app)' },
      ],
    },
    {
      row: 'docker/ changes every app',
      change: (repo) => appendToFile(repo, 'docker/Dockerfile', '\n# a change\n'),
      expected: [
        { app: 'status-app', reason: 'docker/Dockerfile changed (affects every app)' },
        { app: 'weather-app', reason: 'docker/Dockerfile changed (affects every app)' },
      ],
    },
    {
      row: 'the root lockfile changes every app',
      change: (repo) => {
        const lockfile = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
        lockfile.packages[''].devDependencies.prettier = '^3.0.0';
        writeFile(repo, 'package-lock.json', `${JSON.stringify(lockfile, null, 2)}\n`);
      },
      expected: [
        { app: 'status-app', reason: 'package-lock.json changed (affects every app)' },
        { app: 'weather-app', reason: 'package-lock.json changed (affects every app)' },
      ],
    },
    {
      row: 'turbo.json changes every app',
      change: (repo) => {
        const turbo = JSON.parse(readFileSync(join(repo, 'turbo.json'), 'utf8'));
        turbo.globalEnv = [...(turbo.globalEnv ?? []), 'SLIPWAY_TEST_CHANGE'];
        writeFile(repo, 'turbo.json', `${JSON.stringify(turbo, null, 2)}\n`);
      },
      expected: [
        { app: 'status-app', reason: 'turbo.json changed (affects every app)' },
        { app: 'weather-app', reason: 'turbo.json changed (affects every app)' },
      ],
    },
    {
      row: 'docs only change no app',
      change: (repo) => {
        appendToFile(repo, 'README.md', '\nMore words.\n');
        writeFile(repo, 'docs/operations.md', '# Operations\n');
        writeFile(repo, 'apps/weather-app/README.md', '# weather-app\n');
        writeFile(repo, 'packages/service-kit/docs/health.md', '# Health\n');
      },
      expected: [],
    },
  ];

  it.each(cases)('$row', async ({ change, expected }) => {
    const repo = cloneAtBase('feature');
    change(repo);
    const head = commitAll(repo, 'test: the change under test');

    const result = await plan(repo, { CI_COMMIT_BEFORE_SHA: baseCommit, CI_COMMIT_SHA: head });

    expect(result.range).toMatchObject({ base: baseCommit, head, baseSource: 'previous-push' });
    expect(result.apps.map(({ app, reason }) => ({ app, reason }))).toEqual(expected);
    expect(result.allApps).toEqual(['status-app', 'weather-app']);
  });

  it('names a code change rather than a README when an app has both', async () => {
    const repo = cloneAtBase('feature');
    writeFile(repo, 'apps/weather-app/README.md', '# weather-app\n');
    appendToFile(repo, 'apps/weather-app/src/server.ts', '\n// a change\n');
    const head = commitAll(repo, 'feat: docs and code');

    const result = await plan(repo, { CI_COMMIT_BEFORE_SHA: baseCommit, CI_COMMIT_SHA: head });

    expect(result.apps).toEqual([
      {
        app: 'weather-app',
        path: 'apps/weather-app',
        reason: 'apps/weather-app/src/server.ts changed',
        contentKey: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    ]);
  });
});

describe('the base commit', () => {
  it('prefers CI_MERGE_REQUEST_DIFF_BASE_SHA over CI_COMMIT_BEFORE_SHA', async () => {
    const repo = cloneAtBase('feature');
    appendToFile(repo, 'apps/weather-app/src/app.ts', '\n// first push\n');
    const firstPush = commitAll(repo, 'feat: first push');
    appendToFile(repo, 'README.md', '\nA docs-only second push.\n');
    const head = commitAll(repo, 'docs: second push');

    const mergeRequest = await plan(repo, {
      CI_MERGE_REQUEST_DIFF_BASE_SHA: baseCommit,
      CI_COMMIT_BEFORE_SHA: firstPush,
      CI_COMMIT_SHA: head,
    });
    const push = await plan(repo, { CI_COMMIT_BEFORE_SHA: firstPush, CI_COMMIT_SHA: head });

    expect(mergeRequest.range?.baseSource).toBe('merge-request');
    expect(mergeRequest.apps.map((app) => app.app)).toEqual(['weather-app']);
    expect(push.range?.baseSource).toBe('previous-push');
    expect(push.apps).toEqual([]);
  });

  it('falls back to the merge base with the default branch when CI_COMMIT_BEFORE_SHA is all zeros', async () => {
    const repo = cloneAtBase('feature');
    appendToFile(repo, 'apps/weather-app/src/app.ts', '\n// a new branch\n');
    const head = commitAll(repo, 'feat: first push of a new branch');
    // A runner's checkout fetches only the pipeline's own ref.
    git(repo, ['update-ref', '-d', 'refs/remotes/origin/main']);
    // The default branch moves on meanwhile; its changes are not this branch's.
    appendToFile(upstream, 'apps/status-app/src/index.js', '\n// landed on main\n');
    const mainTip = commitAll(upstream, 'feat: landed on main');

    try {
      const result = await plan(repo, {
        CI_COMMIT_BEFORE_SHA: NO_PREVIOUS_PUSH,
        CI_DEFAULT_BRANCH: 'main',
        CI_COMMIT_SHA: head,
      });

      expect(result.range).toMatchObject({ base: baseCommit, baseSource: 'default-branch' });
      expect(result.apps.map((app) => app.app)).toEqual(['weather-app']);
      expect(git(repo, ['rev-parse', 'refs/remotes/origin/main'])).toBe(mainTip);
    } finally {
      git(upstream, ['reset', '--quiet', '--hard', baseCommit]);
    }
  });

  it('plans every app when all zeros leaves nothing to compare with (a manual run on the default branch)', async () => {
    const repo = cloneAtBase('release');

    const result = await plan(repo, { CI_COMMIT_BEFORE_SHA: NO_PREVIOUS_PUSH, CI_DEFAULT_BRANCH: 'main' });

    expect(result.range).toMatchObject({ base: baseCommit, head: baseCommit, baseSource: 'default-branch' });
    expect(result.apps.map((app) => app.app)).toEqual(['status-app', 'weather-app']);
    expect(result.apps[0]?.reason).toMatch(/there is no previous push to compare with/);
  });

  it('plans every app on a tag, to be released by its content key, without comparing commits', async () => {
    const repo = cloneAtBase('release');
    git(repo, ['tag', 'v1.0.0']);

    const result = await plan(repo, {
      CI_COMMIT_BEFORE_SHA: NO_PREVIOUS_PUSH,
      CI_DEFAULT_BRANCH: 'main',
      CI_COMMIT_TAG: 'v1.0.0',
    });

    expect(result.mode).toBe('tag');
    expect(result.range).toBeUndefined();
    expect(result.apps.map((app) => app.app)).toEqual(['status-app', 'weather-app']);
    expect(result.apps[0]?.reason).toMatch(/^tag v1\.0\.0: release content [0-9a-f]{12} /);
  });

  it('deepens a shallow clone until the base is reachable instead of planning everything', async () => {
    const dir = makeTempDir('plan-shallow-upstream');
    clones.push(dir);
    git(dir, ['clone', '--quiet', `file://${upstream}`, '.']);
    appendToFile(dir, 'packages/service-kit/src/index.ts', '\n// a change\n');
    commitAll(dir, 'feat(service-kit): a change');
    for (const n of [1, 2, 3]) {
      appendToFile(dir, 'README.md', `\nNote ${n}.\n`);
      commitAll(dir, `docs: note ${n}`);
    }
    const shallow = makeTempDir('plan-shallow');
    clones.push(shallow);
    git(shallow, ['clone', '--quiet', '--depth', '1', `file://${dir}`, '.']);
    expect(git(shallow, ['rev-parse', '--is-shallow-repository'])).toBe('true');
    expect(() => git(shallow, ['cat-file', '-e', `${baseCommit}^{commit}`])).toThrow();

    const result = await plan(shallow, { CI_COMMIT_BEFORE_SHA: baseCommit });

    expect(result.range?.base).toBe(baseCommit);
    expect(result.apps).toEqual([
      {
        app: 'weather-app',
        path: 'apps/weather-app',
        reason: 'depends on @slipway/service-kit, which changed',
        contentKey: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    ]);
    expect(result.log.join('\n')).toMatch(/shallow clone: deepening history/);
  });

  it('plans every app, and says so, when the base commit exists nowhere', async () => {
    const repo = cloneAtBase('feature');
    const missing = 'ffffffffffffffffffffffffffffffffffffffff';

    const result = await plan(repo, { CI_COMMIT_BEFORE_SHA: missing });

    expect(result.range?.base).toBeUndefined();
    expect(result.apps.map((app) => app.app)).toEqual(['status-app', 'weather-app']);
    expect(result.apps[0]?.reason).toBe(
      'the base (CI_COMMIT_BEFORE_SHA ffffffffffff) is not in the repository, so every app runs',
    );
  });
});

describe('the child pipeline YAML', () => {
  it('has one trigger job per app, including its .gitlab-ci.yml with strategy depend', async () => {
    const repo = cloneAtBase('feature');
    appendToFile(repo, 'docker/Dockerfile', '\n# a change\n');
    const head = commitAll(repo, 'build: docker change');
    const result = await plan(repo, { CI_COMMIT_BEFORE_SHA: baseCommit, CI_COMMIT_SHA: head });

    const yaml = renderChildPipeline(result);
    const pipeline = parse(yaml);

    expect(pipeline).toEqual({
      stages: ['apps'],
      'status-app-pipeline': {
        stage: 'apps',
        variables: { SLIPWAY_CONTENT_KEY: result.apps[0]?.contentKey },
        trigger: {
          include: 'apps/status-app/.gitlab-ci.yml',
          strategy: 'depend',
          forward: { yaml_variables: true, pipeline_variables: true },
        },
      },
      'weather-app-pipeline': {
        stage: 'apps',
        variables: { SLIPWAY_CONTENT_KEY: result.apps[1]?.contentKey },
        trigger: {
          include: 'apps/weather-app/.gitlab-ci.yml',
          strategy: 'depend',
          forward: { yaml_variables: true, pipeline_variables: true },
        },
      },
    });
    expect(result.apps.map((app) => app.contentKey)).toEqual([
      expect.stringMatching(/^[0-9a-f]{16}$/),
      expect.stringMatching(/^[0-9a-f]{16}$/),
    ]);
    expect(yaml).toContain('# docker/Dockerfile changed (affects every app)');
  });

  it('holds a single no-op job when no app is affected, because an empty child pipeline fails', async () => {
    const repo = cloneAtBase('feature');
    appendToFile(repo, 'README.md', '\nDocs.\n');
    const head = commitAll(repo, 'docs: only docs');
    const result = await plan(repo, { CI_COMMIT_BEFORE_SHA: baseCommit, CI_COMMIT_SHA: head });

    const pipeline = parse(renderChildPipeline(result));

    expect(Object.keys(pipeline)).toEqual(['stages', 'no-app-affected']);
    expect(pipeline['no-app-affected'].script.join('\n')).toContain('No app is affected');
  });
});

describe('slipway plan (the command)', () => {
  let repo: string;
  let head: string;
  const originalCwd = process.cwd();

  beforeAll(() => {
    repo = cloneAtBase('feature');
    appendToFile(repo, 'packages/service-kit/src/index.ts', '\n// a change\n');
    head = commitAll(repo, 'feat(service-kit): a change');
  });

  afterEach(() => {
    process.chdir(originalCwd);
    jest.restoreAllMocks();
  });

  function captureOutput() {
    const stdout: string[] = [];
    const stderr: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
    return { stdout: () => stdout.join(''), stderr: () => stderr.join('') };
  }

  it('prints the plan as JSON with --format json, and the reasons on stderr', async () => {
    process.chdir(join(repo, 'apps'));
    const output = captureOutput();

    const code = await runPlanCommand(['--base', baseCommit, '--head', head, '--format', 'json']);

    expect(code).toBe(0);
    expect(JSON.parse(output.stdout())).toEqual([
      {
        app: 'weather-app',
        path: 'apps/weather-app',
        reason: 'depends on @slipway/service-kit, which changed',
        contentKey: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    ]);
    expect(output.stderr()).toContain('run   weather-app: depends on @slipway/service-kit, which changed');
    expect(output.stderr()).toContain('skip  status-app: not affected');
  });

  it('writes the child pipeline YAML to --out', async () => {
    const outDir = makeTempDir('plan-out');
    clones.push(outDir);
    process.chdir(repo);
    const output = captureOutput();

    const code = await runPlanCommand(['--base', baseCommit, '--out', join(outDir, 'child-pipeline.yml')]);

    expect(code).toBe(0);
    expect(output.stdout()).toBe('');
    const pipeline = parse(readFileSync(join(outDir, 'child-pipeline.yml'), 'utf8'));
    expect(Object.keys(pipeline)).toEqual(['stages', 'weather-app-pipeline']);
  });

  it('refuses --out in a directory that does not exist (exit 2), before planning, and creates none', async () => {
    const outDir = makeTempDir('plan-out');
    clones.push(outDir);
    process.chdir(repo);
    const output = captureOutput();
    const missing = join(outDir, 'no', 'such', 'dir');

    const refused = runPlanCommand(['--base', baseCommit, '--out', join(missing, 'child-pipeline.yml')]);

    await expect(refused).rejects.toThrow(CliUsageError);
    await expect(refused).rejects.toThrow(
      `--out ${join(missing, 'child-pipeline.yml')}: ${missing} does not exist (slipway plan writes the file, and creates no directory)`,
    );
    expect(existsSync(join(outDir, 'no'))).toBe(false);
    expect(output.stderr()).toBe('');
  });

  it('says when the plan includes uncommitted work, and names the uncommitted files as the reason', async () => {
    const dirty = cloneAtBase('feature');
    const at = git(dirty, ['rev-parse', 'HEAD']).trim().slice(0, 12);
    appendToFile(dirty, 'apps/status-app/src/index.js', '\n// not committed yet\n');
    writeFile(dirty, 'apps/status-app/src/new-file.js', '// untracked\n');
    process.chdir(dirty);
    const output = captureOutput();

    expect(await runPlanCommand(['--base', 'HEAD'])).toBe(0);

    expect(output.stderr()).toContain(`slipway plan (diff): ${at}..${at} + working tree (base: --base HEAD)`);
    expect(output.stderr()).toMatch(/run {3}status-app: apps\/status-app\/src\/(index|new-file)\.js changed/);
    expect(output.stdout()).toContain(`# Plan (diff) from ${at} (--base HEAD) to ${at} + working tree.`);
  });

  it('says nothing of a working tree when there is no uncommitted work', async () => {
    process.chdir(repo);
    const output = captureOutput();
    expect(await runPlanCommand(['--base', baseCommit, '--head', head])).toBe(0);
    expect(output.stderr()).toContain(`..${head.slice(0, 12)} (base: --base ${baseCommit})`);
    expect(output.stderr()).not.toContain('working tree');
  });

  it('refuses an affected app that has no pipeline file', async () => {
    const broken = cloneAtBase('feature');
    git(broken, ['rm', '--quiet', 'apps/status-app/.gitlab-ci.yml']);
    appendToFile(broken, 'apps/status-app/src/index.js', '\n// a change\n');
    const brokenHead = commitAll(broken, 'feat: status app without pipeline');
    process.chdir(broken);
    captureOutput();

    await expect(runPlanCommand(['--base', baseCommit, '--head', brokenHead])).rejects.toThrow(
      'affected apps have no pipeline file: apps/status-app/.gitlab-ci.yml',
    );
    expect(existsSync(join(broken, 'child-pipeline.yml'))).toBe(false);
  });

  it('rejects a --base that is not a commit', async () => {
    process.chdir(repo);
    captureOutput();

    await expect(runPlanCommand(['--base', 'no-such-ref'])).rejects.toThrow(
      '--base no-such-ref is not a commit in this repository',
    );
  });

  it.each([
    [['--format', 'xml'], '--format must be yaml or json, got "xml"'],
    [['--base', ''], '--base needs a value'],
    [['--head=--upload-pack=evil'], '--head must be a commit'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['extra'], 'Unexpected argument'],
  ])('rejects %j with one clear message', (argv, message) => {
    expect(() => parsePlanOptions(argv)).toThrow(CliUsageError);
    expect(() => parsePlanOptions(argv)).toThrow(message);
  });
});
