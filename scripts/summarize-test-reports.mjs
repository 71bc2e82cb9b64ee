#!/usr/bin/env node
// Totals the JUnit XML reports every suite writes (jest-junit, node --test), so a CI log ends with one
// plain line of what ran: "Tests: N passed, N failed, N skipped".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPORT_DIRS = ['reports', 'apps/*/reports', 'packages/*/reports'];

function reportFiles(root) {
  const dirs = REPORT_DIRS.flatMap((pattern) => {
    const [parent, star, leaf] = pattern.split('/');
    if (star !== '*') return [join(root, pattern)];
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(root, parent, entry.name, leaf));
  });
  return dirs.flatMap((dir) => {
    try {
      return readdirSync(dir)
        .filter((name) => /^junit.*\.xml$/.test(name))
        .map((name) => join(dir, name));
    } catch {
      return [];
    }
  });
}

/** Counts testcases, and those with a <failure>, <error> or <skipped> child. */
export function countTestCases(xml) {
  const cases = xml.match(/<testcase\b[^>]*?(?:\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
  let failed = 0;
  let skipped = 0;
  for (const testcase of cases) {
    if (/<(failure|error)\b/.test(testcase)) failed += 1;
    else if (/<skipped\b/.test(testcase)) skipped += 1;
  }
  return { passed: cases.length - failed - skipped, failed, skipped };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = new URL('..', import.meta.url).pathname;
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const file of reportFiles(root)) {
    const counts = countTestCases(readFileSync(file, 'utf8'));
    console.log(
      `${file.slice(root.length)}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
    );
    for (const key of Object.keys(total)) total[key] += counts[key];
  }
  console.log(`Tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  process.exitCode = total.failed > 0 || total.passed === 0 ? 1 : 0;
}
