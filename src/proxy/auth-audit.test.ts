import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthAuditPolicy, parseAuthAuditMode } from './auth-audit.ts';
import { ConfigurationError } from '../errors.ts';

test('auth audit: the modes parse; anything else is a ConfigurationError naming the setting', () => {
  assert.deepEqual(parseAuthAuditMode('all'), { kind: 'all' });
  assert.deepEqual(parseAuthAuditMode('failures'), { kind: 'failures' });
  assert.deepEqual(parseAuthAuditMode('sample:100'), { kind: 'sample', every: 100 });
  for (const bad of ['', 'sample:0', 'sample:', 'sample:-1', 'ALL', 'none']) {
    assert.throws(() => parseAuthAuditMode(bad), (e: Error) => e instanceof ConfigurationError && /REKEY_PROXY_AUDIT_AUTH/.test(e.message), bad);
  }
});

test('auth audit: failures (the default) records every failure and no success; the summary counts both', () => {
  const p = new AuthAuditPolicy(parseAuthAuditMode('failures'));
  const recorded = [true, true, false, true, false].map((ok) => p.admit('app', ok));
  assert.deepEqual(recorded, [false, false, true, false, true]);
  p.admit('other', true);
  assert.deepEqual(p.drain(), [{ target: 'app', succeeded: 3, failed: 2, recorded: 2 }, { target: 'other', succeeded: 1, failed: 0, recorded: 0 }]);
  assert.deepEqual(p.drain(), [], 'a new period starts empty: no summary for a quiet target');
});

test('auth audit: sample:N records the 1st, N+1th, ... success of each target and every failure', () => {
  const p = new AuthAuditPolicy(parseAuthAuditMode('sample:3'));
  const got = Array.from({ length: 7 }, () => p.admit('app', true));
  assert.deepEqual(got, [true, false, false, true, false, false, true]);
  assert.equal(p.admit('app', false), true);
  assert.equal(p.admit('b', true), true, 'per target');
  assert.deepEqual(p.drain(), [{ target: 'app', succeeded: 7, failed: 1, recorded: 4 }, { target: 'b', succeeded: 1, failed: 0, recorded: 1 }]);
});

test('auth audit: all records everything and writes no summary', () => {
  const p = new AuthAuditPolicy(parseAuthAuditMode('all'));
  assert.deepEqual([true, false, true].map((ok) => p.admit('app', ok)), [true, true, true]);
  assert.deepEqual(p.drain(), []);
});
