import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseUsername, isAuthError, otherUsername, wrapDbError } from './common.ts';

const target = { user: 'app', host: 'db', port: 5432, label: 'master' };

test('driver errors lose quoted literals and known secrets, keep the code', () => {
  const e = Object.assign(new Error("You have an error in your SQL syntax; check the manual near 'PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'' at line 1"), { code: 'ER_PARSE_ERROR', errno: 1064 });
  const w = wrapDbError(e, target, 'setSecret', []);
  assert.equal(w.name, 'DatabaseOperationException');
  assert.equal(w.message, "setSecret: user app (master) at db:5432 failed (ER_PARSE_ERROR): You have an error in your SQL syntax; check the manual near '…' at line 1");
  assert.ok(!w.message.includes('2470C0C0'));
  const cut = wrapDbError(Object.assign(new Error("syntax error at or near 'SCRAM-SHA-256$4096:abc"), { code: '42601' }), target, 'setSecret', []);
  assert.equal(cut.message, "setSecret: user app (master) at db:5432 failed (42601): syntax error at or near '…");
  const named = wrapDbError(new Error('connect failed for hunter2hunter2 somewhere'), target, 'testSecret', ['hunter2hunter2']);
  assert.equal(named.message, 'testSecret: user app (master) at db:5432 failed (unknown): connect failed for [redacted] somewhere');
});

test('login refusals become DatabaseLoginFailedException', () => {
  const pgAuth = Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' });
  assert.ok(isAuthError(pgAuth));
  const w = wrapDbError(pgAuth, target, 'setSecret', []);
  assert.equal(w.name, 'DatabaseLoginFailedException');
  assert.equal(w.message, 'setSecret: login as user app (master) at db:5432 was refused (28P01): password authentication failed for user "app"');
  assert.ok(isAuthError({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }));
  assert.ok(!isAuthError({ code: 'ER_DBACCESS_DENIED_ERROR', errno: 1044 }));
  assert.ok(!isAuthError({ code: 'ECONNREFUSED' }));
});

test('alternating users naming follows AWS: <base> and <base>_clone', () => {
  assert.equal(otherUsername('app'), 'app_clone');
  assert.equal(otherUsername('app_clone'), 'app');
  assert.equal(baseUsername('app_clone'), 'app');
  assert.equal(baseUsername('_clone'), '_clone');
  assert.equal(otherUsername('_clone'), '_clone_clone');
});
