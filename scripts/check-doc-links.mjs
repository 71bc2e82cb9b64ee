// Every relative link in the repository's Markdown (README.md, docs/, apps/*/README.md, ci-templates/README.md, …)
// must point at a file or directory that exists, and every #anchor at a heading that the target page has, so moving
// a section or renaming a file cannot break a link silently.
//
// Usage: node scripts/check-doc-links.mjs [ROOT]   (ROOT defaults to this repository)
// Output: one line per broken link on stderr, `<file>:<line>: <target>: <why>`; a summary line on stdout.
// Exit codes: 0 every link resolves, 1 at least one is broken.
//
// Heading ids follow GitLab's rules (https://docs.gitlab.com/user/markdown/#heading-ids-and-links): lower case,
// non-word characters removed, spaces to hyphens, runs of hyphens to one, a duplicate gets -1, -2, …. GitHub keeps
// runs of hyphens, so an anchor must be the heading's id under both, and people reading the mirror get there too.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIPPED_DIRECTORIES = new Set([
  '.git',
  'node_modules',
  'dist',
  'coverage',
  'reports',
  'test-output',
  '.turbo',
  '.gitlab-ci-local',
]);

/** The Markdown files to check, relative to root: git's tracked *.md, else a walk that skips build output. */
export function markdownFiles(root) {
  try {
    const listed = execFileSync(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.md'],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const files = listed.split('\0').filter((file) => file && existsSync(path.join(root, file)));
    if (files.length > 0) return files.sort();
  } catch {
    // not a git checkout: walk the tree
  }
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      if (entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name)) walk(path.join(dir, entry.name));
      else if (entry.isFile() && entry.name.endsWith('.md')) found.push(path.join(dir, entry.name));
    }
  };
  walk('');
  return found.sort();
}

/** The lines of a Markdown text with fenced code blocks blanked, so examples inside them are not links or headings. */
function proseLines(markdown) {
  let fence = null;
  return markdown.split('\n').map((line) => {
    const opener = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fence === null && opener) {
      fence = opener[1];
      return '';
    }
    if (fence !== null) {
      if (line.trim().startsWith(fence[0].repeat(fence.length)) && line.trim().replace(/[`~]/g, '') === '') {
        fence = null;
      }
      return '';
    }
    return line;
  });
}

/** A heading's visible text: link targets, inline code ticks, emphasis and HTML tags dropped. */
function headingText(raw) {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '')
    .replace(/\*/g, '');
}

/** The id GitLab gives a heading (multipleHyphens false) or GitHub does (true), before duplicate numbering. */
export function slug(text, { keepHyphenRuns = false } = {}) {
  const id = headingText(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
  return keepHyphenRuns ? id : id.replace(/-{2,}/g, '-');
}

/** Every heading id of a Markdown text under both hosts' rules: { gitlab: Set, github: Set }. */
export function headingIds(markdown) {
  const ids = { gitlab: new Set(), github: new Set() };
  const seen = { gitlab: new Map(), github: new Map() };
  for (const line of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$/.exec(line);
    if (!heading) continue;
    for (const host of ['gitlab', 'github']) {
      const base = slug(heading[1], { keepHyphenRuns: host === 'github' });
      const count = seen[host].get(base) ?? 0;
      seen[host].set(base, count + 1);
      ids[host].add(count === 0 ? base : `${base}-${count}`);
    }
  }
  for (const line of markdown.split('\n')) {
    for (const match of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) {
      ids.gitlab.add(match[1]);
      ids.github.add(match[1]);
    }
  }
  return ids;
}

/** The link targets of a Markdown text: inline links and images, and reference definitions, with their line. */
export function linkTargets(markdown) {
  const links = [];
  proseLines(markdown).forEach((line, index) => {
    const prose = line.replace(/(`+)(?:(?!\1).)+?\1/g, (code) => ' '.repeat(code.length));
    for (const match of prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line: index + 1, target: match[1].replace(/^<|>$/g, '') });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(prose);
    if (definition) links.push({ line: index + 1, target: definition[1].replace(/^<|>$/g, '') });
  });
  return links;
}

/** Why a link from `file` (relative to root) is broken, or null when it resolves. External links are not checked. */
export function brokenReason(root, file, target, cache = new Map()) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null;
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved =
    pathPart === ''
      ? file
      : path.normalize(
          pathPart.startsWith('/') ? pathPart.slice(1) : path.join(path.dirname(file), pathPart),
        );
  if (resolved.startsWith('..')) return 'points outside the repository';
  const absolute = path.join(root, resolved);
  if (!existsSync(absolute)) return `no such file or directory: ${resolved}`;
  if (anchor === null || anchor === '') return null;
  if (!resolved.endsWith('.md') || statSync(absolute).isDirectory()) {
    return /^L\d+(-L\d+)?$/.test(anchor) ? null : `#${anchor} on ${resolved}, which is not a Markdown page`;
  }
  if (!cache.has(resolved)) cache.set(resolved, headingIds(readFileSync(absolute, 'utf8')));
  const ids = cache.get(resolved);
  const onGitLab = ids.gitlab.has(anchor);
  const onGitHub = ids.github.has(anchor);
  if (onGitLab && onGitHub) return null;
  if (onGitLab || onGitHub) {
    return `#${anchor} is a heading id on ${onGitLab ? 'GitLab' : 'GitHub'} only (runs of hyphens): reword the heading`;
  }
  return `no heading #${anchor} in ${resolved}`;
}

/** Every broken link of the repository's Markdown: [{ file, line, target, reason }]. */
export function brokenLinks(root) {
  const cache = new Map();
  const broken = [];
  for (const file of markdownFiles(root)) {
    for (const { line, target } of linkTargets(readFileSync(path.join(root, file), 'utf8'))) {
      const reason = brokenReason(root, file, target, cache);
      if (reason) broken.push({ file, line, target, reason });
    }
  }
  return broken;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const broken = brokenLinks(root);
  for (const { file, line, target, reason } of broken)
    process.stderr.write(`${file}:${line}: ${target}: ${reason}\n`);
  process.stdout.write(
    broken.length === 0
      ? `every relative link in ${markdownFiles(root).length} Markdown files resolves\n`
      : `${broken.length} broken link${broken.length === 1 ? '' : 's'}\n`,
  );
  process.exitCode = broken.length === 0 ? 0 : 1;
}
