import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPinningQuery } from './pinning.ts';

const q = (s: string) => Buffer.from(s + '\0');

test('pinning: session-state statements pin, transaction-scoped ones do not', () => {
  assert.equal(isPinningQuery(q('SET search_path TO app')), 'SET');
  assert.equal(isPinningQuery(q('begin; set statement_timeout = 5')), 'SET');
  assert.equal(isPinningQuery(q('RESET ALL')), 'SET');
  assert.equal(isPinningQuery(q('PREPARE p AS SELECT 1')), 'PREPARE');
  assert.equal(isPinningQuery(q('CREATE TEMP TABLE t (a int)')), 'temporary table');
  assert.equal(isPinningQuery(q('create local temporary table t (a int)')), 'temporary table');
  assert.equal(isPinningQuery(q('LISTEN chan')), 'LISTEN');
  assert.equal(isPinningQuery(q('UNLISTEN *')), 'LISTEN');
  assert.equal(isPinningQuery(q("LOAD 'auto_explain'")), 'LOAD');
  assert.equal(isPinningQuery(q('SELECT pg_advisory_lock(1)')), 'advisory lock');
  assert.equal(isPinningQuery(q('SELECT pg_try_advisory_lock_shared(1)')), 'advisory lock');
  assert.equal(isPinningQuery(q("SELECT set_config('a.b', '1', false)")), 'set_config');
  assert.equal(isPinningQuery(q('DECLARE c CURSOR WITH HOLD FOR SELECT 1')), 'cursor WITH HOLD');
  for (const s of ['SET LOCAL search_path TO x', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SELECT pg_advisory_xact_lock(1)',
    'SELECT 1', 'UPDATE settings SET a = 1', 'BEGIN', 'CREATE TABLE temp_x (a int)', "SELECT 'LISTEN x'"]) {
    assert.equal(isPinningQuery(q(s)), undefined, s);
  }
});
