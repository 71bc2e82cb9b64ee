// `slipway pipeline local` (what `npm run pipeline` runs) on a small repository whose parent pipeline is one job, so
// the command's whole path runs for real in seconds: clone, gitlab-ci-local with the shell executor, the job report,
// the exit code. plan-local-pipeline.test.ts runs this repository's own pipeline.
import { existsSync } from 'node:fs';
import { commitAll, git, makeTempDir, removeDir, writeFile } from './support/fixture-repository';
import { runSlipway } from './support/run-slipway';

const TWO_JOBS_ON_BUSY_CORES = 120_000;

let repo: string;
beforeEach(() => {
  repo = makeTempDir('pipeline-local');
  git(repo, ['init', '--quiet', '--initial-branch', 'main']);
  writeFile(
    repo,
    '.gitlab-ci.yml',
    [
      'greet:',
      '  script:',
      '    - echo "greeting=$GREETING on $CI_COMMIT_REF_NAME"',
      '    - test "$GREETING" != fail',
      '',
    ].join('\n'),
  );
  commitAll(repo, 'ci: one job');
});
afterEach(() => removeDir(repo));

function clonePath(stdout: string): string | undefined {
  return /the clone stays in (\S+) for inspection/.exec(stdout)?.[1];
}

describe('slipway pipeline local', () => {
  it(
    'runs the parent pipeline of HEAD with the project variables given, and exits 0 when every job passed',
    async () => {
      const result = await runSlipway(['pipeline', 'local', '--variable', 'GREETING=hello'], { cwd: repo });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('greeting=hello on main');
      expect(result.stdout).toContain('slipway pipeline: pipeline passed: greet');
      expect(result.exitCode).toBe(0);
      expect(clonePath(result.stdout)).toBeUndefined();
    },
    TWO_JOBS_ON_BUSY_CORES,
  );

  it(
    'exits 1 when a job fails, and keeps the clone for inspection',
    async () => {
      const result = await runSlipway(
        ['pipeline', 'local', '--repo-root', repo, '--variable', 'GREETING=fail', '--tag', 'v1.2.3'],
        { cwd: process.cwd() },
      );
      expect(result.stdout).toContain('greeting=fail on v1.2.3');
      expect(result.stdout).toContain('slipway pipeline: pipeline failed: greet');
      expect(result.exitCode).toBe(1);
      const clone = clonePath(result.stdout);
      expect(clone && existsSync(clone)).toBe(true);
      removeDir(clone);
    },
    TWO_JOBS_ON_BUSY_CORES,
  );

  it('exits 1 with one line when the run cannot start', async () => {
    git(repo, ['checkout', '--quiet', '-b', 'feature']);
    const result = await runSlipway(['pipeline', 'local', '--default-branch', 'trunk'], { cwd: repo });
    expect(result).toMatchObject({
      exitCode: 1,
      stderr:
        'slipway pipeline local: the repository has no branch "trunk" for the merge request to target\n',
    });
  });

  it.each([
    [['--variable', 'not a name=1'], '--variable expects NAME=VALUE with a variable name as NAME'],
    [['--tag=--upload-pack=touch'], '--tag must be a branch or tag name'],
    [['--default-branch', 'a b'], '--default-branch must be a branch or tag name'],
    [['--executor', 'docker'], "Unknown option '--executor'"],
  ])('refuses %j with exit 2 before running anything', async (args, message) => {
    const result = await runSlipway(['pipeline', 'local', ...args], { cwd: repo });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('documents itself', async () => {
    const help = await runSlipway(['pipeline', 'local', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^usage: slipway pipeline local/);
    expect(help.stdout).toContain(
      'Exit codes: 0 every job passed, 1 a job failed or the run could not start, 2 usage',
    );
    const group = await runSlipway(['pipeline']);
    expect(group).toMatchObject({
      exitCode: 2,
      stdout: 'usage: slipway pipeline <local> [options]; add --help to a subcommand for its options\n',
    });
  });
});
