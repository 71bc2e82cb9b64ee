// Files named on a command line are what the command says it takes, or a usage error (exit 2): `slipway templates
// check FILE` takes CI templates (a spec: header) and pipelines (.yml/.yaml configuration), never "ok" for a file
// it did not check, such as package.json. (plan --out: test/plan.test.ts.)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { runSlipway } from './support/run-slipway';

describe('slipway templates check FILE', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('templates-files');
    mkdirSync(path.join(dir, 'ci-templates'));
    writeFileSync(path.join(dir, 'list.yml'), '- a\n- b\n');
    writeFileSync(path.join(dir, 'empty.yaml'), '');
    writeFileSync(path.join(dir, 'pipeline.yml'), 'job:\n  script: [echo hi]\n');
  });
  afterAll(() => removeDir(dir));

  const check = (file: string, root = REPOSITORY_ROOT) =>
    runSlipway(['templates', 'check', file, '--root', root], { cwd: root });

  it.each([
    [path.join(REPOSITORY_ROOT, 'package.json'), 'package.json', 'a .yml or .yaml file'],
    [path.join(REPOSITORY_ROOT, 'README.md'), 'README.md', 'a .yml or .yaml file'],
  ])('refuses %s, which is neither a template nor a pipeline', async (file, name, why) => {
    const result = await check(file);
    expect(result).toMatchObject({ exitCode: 2, stdout: '' });
    expect(result.stderr).toContain(
      `${name}: not a CI template (no "spec:" header) nor a pipeline (${why}); templates check takes CI templates and pipelines`,
    );
  });

  it.each(['list.yml', 'empty.yaml'])('refuses %s, YAML that is not a mapping of jobs', async (file) => {
    const result = await check(path.join(dir, file), dir);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      `${file}: not a CI template (no "spec:" header) nor a pipeline (its YAML`,
    );
    expect(result.stdout).toBe('');
  });

  it('still checks a template and a pipeline', async () => {
    expect(await check(path.join(REPOSITORY_ROOT, 'ci-templates', 'lint.yml'))).toMatchObject({
      exitCode: 0,
    });
    expect(await check(path.join(REPOSITORY_ROOT, '.gitlab-ci.yml'))).toMatchObject({ exitCode: 0 });
    expect(await check(path.join(dir, 'pipeline.yml'), dir)).toMatchObject({ exitCode: 0 });
  });
});
