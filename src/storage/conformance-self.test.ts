// The conformance suite must fail for broken backends: each mutant in testdata/mutants.ts breaks
// one property, and here we check that exactly the tests guarding that property catch it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const EXPECTED: Record<string, string[]> = {
  'like-list': ["list: '%', '_' and '\\\\' in a prefix are literal characters, not LIKE patterns"],
  'locale-order': ['list: prefix, byte order, after, limit', "list: '%', '_' and '\\\\' in a prefix are literal characters, not LIKE patterns"],
  'non-atomic-transaction': ['transaction is atomic: a failing CAS in the middle changes nothing', '20 concurrent CAS transactions on the same key: exactly one wins'],
  'racy-cas': ['20 concurrent CAS puts at the same version: exactly one wins', '20 concurrent first inserts (expectVersion 0): exactly one wins, the rest CasConflict'],
  aliasing: ["a put stores a copy: later changes to the caller's buffer do not leak in"],
  'no-key-check': ['invalid keys are rejected everywhere'],
};

test('the conformance suite fails exactly where each mutant backend is broken', () => {
  const entry = fileURLToPath(new URL('./testdata/mutants.run.ts', import.meta.url));
  // Without NODE_TEST_CONTEXT the child is a top-level test run, not a subprocess of ours.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', entry], { encoding: 'utf8', timeout: 60_000, env });
  assert.notEqual(r.status, 0, 'the mutant run must fail');
  const failed: Record<string, string[]> = {};
  let suite = '';
  for (const line of r.stdout.split('\n')) {
    const s = /^ {0,4}# Subtest: backend conformance: mutant (.+)$/.exec(line);
    if (s) suite = s[1]!;
    const f = /^ {4,8}not ok \d+ - (.+?)(?: # .*)?$/.exec(line);
    if (f && suite) (failed[suite] ??= []).push(f[1]!);
  }
  for (const [name, tests] of Object.entries(EXPECTED)) {
    assert.deepEqual((failed[name] ?? []).sort(), [...tests].sort(), `mutant ${name}`);
  }
});
