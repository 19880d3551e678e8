import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binlogKeyVersionOf, decide, redoKeyVersionOf, type EncryptionRow, type KeyVersions, type RetireEvidence } from './mariadb-retire.ts';

const T = 1_800_000_000_000;
const row = (min: number, keyId = 1, o: Partial<EncryptionRow> = {}): EncryptionRow => ({ NAME: 'db/t', ENCRYPTION_SCHEME: 1, MIN_KEY_VERSION: min, CURRENT_KEY_ID: keyId, ROTATING_OR_FLUSHING: 0, ...o });
const keys = (): Map<number, KeyVersions> => new Map([
  [1, { served: [{ version: 1, createdAt: T - 10_000 }, { version: 3, createdAt: T }], retired: [] }],
  [2, { served: [{ version: 1, createdAt: T - 10_000 }, { version: 3, createdAt: T }], retired: [] }],
]);
// everything moved: the server started after version 3, the redo log and the binlog on 3, no old Aria table
const done = (): RetireEvidence => ({
  startedAtMs: T + 5000, tablespaces: [row(3), row(3)], missingTablespaces: 0, redoKeyVersion: 3,
  binlogs: [{ name: 'binlog.000002', keyVersion: 3 }], oldAria: [],
});
const floors = (ev: RetireEvidence | null) => decide(ev, keys()).map((d) => [d.keyId, d.floor]);

test('decide: every reader moved past version 1 -> versions below 3 are not needed', () => {
  assert.deepEqual(floors(done()), [[1, 3], [2, 3]]);
  assert.deepEqual(decide(done(), keys()).map((d) => d.keptBecause), [[], []]);
});

test('decide: a tablespace below the newest version keeps the versions it uses (the negative case)', () => {
  const ev = { ...done(), tablespaces: [row(3), row(1)] };
  assert.deepEqual(floors(ev), [[1, 1], [2, 3]]);
  assert.match(decide(ev, keys())[0]!.keptBecause.join(), /1 InnoDB tablespaces have pages under version 1/);
  // rotating or flushing, not yet encrypted, or missing from the view: nothing of any key
  assert.deepEqual(floors({ ...done(), tablespaces: [row(3), row(3, 1, { ROTATING_OR_FLUSHING: 1 })] }), [[1, 1], [2, 1]]);
  assert.deepEqual(floors({ ...done(), tablespaces: [row(3), row(3, 1, { ENCRYPTION_SCHEME: 0 })] }), [[1, 1], [2, 1]]);
  assert.deepEqual(floors({ ...done(), missingTablespaces: 1 }), [[1, 1], [2, 1]]);
});

test('decide: the redo log, binary logs, the server start and old Aria tables each hold versions', () => {
  assert.deepEqual(floors({ ...done(), redoKeyVersion: 1 }), [[1, 1], [2, 3]]);
  assert.deepEqual(floors({ ...done(), redoKeyVersion: null }), [[1, 1], [2, 3]]);
  assert.deepEqual(floors({ ...done(), binlogs: [{ name: 'binlog.000001', keyVersion: 1 }, { name: 'binlog.000002', keyVersion: 3 }] }), [[1, 1], [2, 3]]);
  assert.deepEqual(floors({ ...done(), binlogs: [{ name: 'binlog.000001', keyVersion: null }] }), [[1, 1], [2, 3]]);
  assert.deepEqual(floors({ ...done(), binlogs: [{ name: 'binlog.000001', keyVersion: 0 }] }), [[1, 3], [2, 3]], 'an unencrypted binlog needs no key');
  // temporary files use the version that was the latest at the server's start, for its whole run
  assert.deepEqual(floors({ ...done(), startedAtMs: T }), [[1, 1], [2, 1]]);
  const aria = decide({ ...done(), oldAria: ['shop.log'] }, keys());
  assert.deepEqual(aria.map((d) => d.floor), [1, 1]);
  assert.match(aria[1]!.keptBecause.join(), /Aria tables written before the server's start may hold older versions: shop\.log/);
  // the server down: nothing can be shown
  assert.deepEqual(floors(null), [[1, 1], [2, 1]]);
  assert.match(decide(null, keys())[0]!.keptBecause.join(), /could not be read \(not running, or not answering\)/);
});

test('decide: a key only InnoDB uses (ENCRYPTION_KEY_ID=7) is not held by the redo log or binlogs; one version: nothing kept', () => {
  const k = new Map([[7, { served: [{ version: 1, createdAt: T - 1 }, { version: 3, createdAt: T }], retired: [] }], [9, { served: [{ version: 1, createdAt: T - 1 }], retired: [] }]]);
  const d = decide({ ...done(), tablespaces: [row(3, 7)], redoKeyVersion: 1, binlogs: [{ name: 'b', keyVersion: 1 }] }, k);
  assert.deepEqual(d.map((x) => [x.keyId, x.floor, x.keptBecause.length]), [[7, 3, 0], [9, 1, 0]]);
});

test('redoKeyVersionOf: ib_logfile0 header of MariaDB 10.11 (bytes 48-55: key id 1, version; big-endian)', () => {
  // the first 96 bytes of a real ib_logfile0 (10.11.19, innodb_encrypt_log=ON, key 1 version 1)
  const h = Buffer.alloc(512);
  Buffer.from('f09f979d00000000000000000000300' + '0', 'hex').copy(h, 0);
  h.write('MariaDB 10.11.19', 16, 'latin1');
  h.writeUInt32BE(1, 48);
  h.writeUInt32BE(3, 52);
  assert.equal(redoKeyVersionOf(h), 3);
  const old = Buffer.from(h);
  old.write('MariaDB 10.6.1\0\0', 16, 'latin1');
  assert.equal(redoKeyVersionOf(old), null, 'an older log format is not understood');
  const plain = Buffer.from(h);
  plain.writeUInt32BE(0, 48);
  assert.equal(redoKeyVersionOf(plain), null);
  assert.equal(redoKeyVersionOf(h.subarray(0, 40)), null);
});

test('binlogKeyVersionOf: the Start_encryption event after the Format_description event', () => {
  const head = Buffer.alloc(300);
  Buffer.from([0xfe, 0x62, 0x69, 0x6e]).copy(head, 0);
  head.writeUInt32LE(252, 4 + 9); // Format_description: 252 bytes, so the next event is at 256
  head[256 + 4] = 164;
  head[256 + 19] = 1; // scheme
  head.writeUInt32LE(3, 256 + 20);
  assert.equal(binlogKeyVersionOf(head), 3);
  const plain = Buffer.from(head);
  plain[256 + 4] = 163; // Gtid_list: not encrypted
  assert.equal(binlogKeyVersionOf(plain), 0);
  assert.equal(binlogKeyVersionOf(Buffer.from('not a binlog')), null);
  assert.equal(binlogKeyVersionOf(head.subarray(0, 200)), null);
});
