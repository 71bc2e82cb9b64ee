// The repository's Markdown links resolve (README.md, docs/*.md and every other tracked page), and the checker
// catches each kind of broken link, so a moved section or a renamed file fails here rather than on a reader.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { brokenLinks, headingIds, linkTargets, markdownFiles, slug } from './check-doc-links.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(root, 'scripts', 'check-doc-links.mjs');

test('every relative link and #anchor in the repository Markdown resolves', () => {
  const files = markdownFiles(root);
  assert.ok(files.includes('README.md'), 'README.md is checked');
  const docs = readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md'));
  for (const doc of docs) assert.ok(files.includes(`docs/${doc}`), `docs/${doc} is checked`);
  assert.deepEqual(
    brokenLinks(root).map(({ file, line, target, reason }) => `${file}:${line}: ${target}: ${reason}`),
    [],
  );
});

test('the README links to every page in docs/', () => {
  const targets = new Set(
    linkTargets(readFileSync(path.join(root, 'README.md'), 'utf8')).map(({ target }) => target.split('#')[0]),
  );
  const docs = readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md'));
  assert.deepEqual(
    docs.filter((doc) => !targets.has(`docs/${doc}`)),
    [],
    'a page in docs/ that the README index does not link',
  );
});

// Issue 13: the README had grown to 926 lines (94 KB) with the runbooks in it. Long guides belong in docs/.
test('the README stays a map a newcomer reads in five minutes: at most 200 lines and 16 KB', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const lines = readme.split('\n').length - 1;
  const bytes = Buffer.byteLength(readme);
  assert.ok(
    lines <= 200 && bytes <= 16 * 1024,
    `README.md has ${lines} lines and ${bytes} bytes: move a guide to docs/`,
  );
});

test('heading ids follow GitLab, and GitHub where they differ', () => {
  assert.equal(
    slug('Images by content: build once, reconcile, self-heal'),
    'images-by-content-build-once-reconcile-self-heal',
  );
  assert.equal(slug('2. `slipway gitlab setup`'), '2-slipway-gitlab-setup');
  assert.equal(
    slug('Gates, rollbacks and what you see on GitLab.com'),
    'gates-rollbacks-and-what-you-see-on-gitlabcom',
  );
  assert.equal(slug('One-off API calls: `npm run gitlab:*`'), 'one-off-api-calls-npm-run-gitlab');
  assert.equal(slug('A [linked](x.md) São Paulo'), 'a-linked-são-paulo');
  assert.equal(slug('This - and that'), 'this-and-that');
  assert.equal(slug('This - and that', { keepHyphenRuns: true }), 'this---and-that');
  const ids = headingIds('# Top\n\n## Notes\n\n```sh\n# not a heading\n```\n\n## Notes\n');
  assert.deepEqual([...ids.gitlab], ['top', 'notes', 'notes-1']);
});

test('links inside code are not links', () => {
  const links = linkTargets(
    'See [a](a.md).\n\n```md\n[b](b.md)\n```\n\nAnd `[c](c.md)` and [d][] \n\n[d]: d.md\n',
  );
  assert.deepEqual(links, [
    { line: 1, target: 'a.md' },
    { line: 9, target: 'd.md' },
  ]);
});

const fixture = mkdtempSync(path.join(tmpdir(), 'doc-links-'));
after(() => rmSync(fixture, { recursive: true, force: true }));

test('each kind of broken link is reported with its file, line and reason, and the CLI exits 1', () => {
  mkdirSync(path.join(fixture, 'docs'));
  mkdirSync(path.join(fixture, 'src'));
  writeFileSync(path.join(fixture, 'src', 'app.ts'), 'export {};\n');
  writeFileSync(path.join(fixture, 'docs', 'guide.md'), '# Guide\n\n## Run it - now\n\n## Set up\n');
  writeFileSync(
    path.join(fixture, 'README.md'),
    [
      '# Project',
      '',
      '[ok](docs/guide.md#set-up) [ok](src/app.ts#L1) [ok](src/) [ok](#project) [ok](https://example.com/x#y)',
      '[gone](docs/missing.md)',
      '[no heading](docs/guide.md#tear-down)',
      '[own page](#nowhere)',
      '[hyphens](docs/guide.md#run-it-now)',
      '[code anchor](src/app.ts#main)',
      '[outside](../elsewhere.md)',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    brokenLinks(fixture).map(({ file, line, target, reason }) => `${file}:${line}: ${target}: ${reason}`),
    [
      'README.md:4: docs/missing.md: no such file or directory: docs/missing.md',
      'README.md:5: docs/guide.md#tear-down: no heading #tear-down in docs/guide.md',
      'README.md:6: #nowhere: no heading #nowhere in README.md',
      'README.md:7: docs/guide.md#run-it-now: #run-it-now is a heading id on GitLab only (runs of hyphens): reword the heading',
      'README.md:8: src/app.ts#main: #main on src/app.ts, which is not a Markdown page',
      'README.md:9: ../elsewhere.md: points outside the repository',
    ],
  );
  const run = spawnSync(process.execPath, [script, fixture], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '6 broken links\n');
  assert.match(run.stderr, /^README\.md:4: docs\/missing\.md: no such file or directory/);
});
