import { test } from 'node:test';
import assert from 'node:assert/strict';
import { excluded } from './backup.ts';

test('excluded: what pg_basebackup leaves out of a data directory, and nothing else', () => {
  for (const rel of ['./postmaster.pid', './postmaster.opts', './backup_label', './tablespace_map', './backup_label.old', './pg_wal/000000010000000000000001',
    './pg_wal/archive_status', './pg_replslot/s/state', './pg_stat_tmp/global.stat', './pg_subtrans/0000', './base/16384/pgsql_tmp', './base/pgsql_tmp/pgsql_tmp1.0',
    './global/pg_internal.init', './base/5/pg_internal.init']) {
    assert.equal(excluded(rel, false), true, rel);
  }
  for (const rel of ['./pg_wal', './pg_replslot', './pg_stat_tmp', './base/16384/16385', './global/pg_control', './PG_VERSION', './postgresql.conf',
    './pg_xact/0000', './pg_multixact/offsets/0000', './base/1/postmaster.pid', './pg_walsummaries/x']) {
    assert.equal(excluded(rel, false), false, rel);
  }
});
