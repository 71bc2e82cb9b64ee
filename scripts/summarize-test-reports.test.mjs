import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTestCases } from './summarize-test-reports.mjs';

test('counts passed, failed (failure or error) and skipped test cases in JUnit XML', () => {
  const xml = `<testsuites><testsuite>
    <testcase name="a" time="0.1"/>
    <testcase name="b"><failure message="x">boom</failure></testcase>
    <testcase name="c"><error message="y"/></testcase>
    <testcase name="d"><skipped/></testcase>
    <testcase name="e" time="1"></testcase>
  </testsuite></testsuites>`;
  assert.deepEqual(countTestCases(xml), { passed: 2, failed: 2, skipped: 1 });
});
