import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlNativePasswordHash, parsePostgresScramVerifier, postgresScramVerifier, scramKeys } from './scram.ts';

test('SCRAM-SHA-256 keys match the RFC 7677 test vector (user/pencil)', () => {
  // RFC 7677 section 3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, i=4096.
  // ServerSignature there is computed from this ServerKey; the StoredKey follows from ClientKey.
  const k = scramKeys('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  assert.equal(k.serverKey.toString('base64'), 'wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=');
  assert.equal(k.storedKey.toString('base64'), 'WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=');
});

test('PostgreSQL verifier round-trips through the parser and a bad one is refused', () => {
  const v = postgresScramVerifier('pencil', Buffer.alloc(16, 7), 4096);
  assert.match(v, /^SCRAM-SHA-256\$4096:BwcHBwcHBwcHBwcHBwcHBw==\$[^:]+:[^:]+$/);
  const k = parsePostgresScramVerifier(v);
  assert.equal(k?.iterations, 4096);
  assert.equal(parsePostgresScramVerifier('md5abc'), undefined);
  assert.throws(() => scramKeys('x', Buffer.alloc(16), 0), RangeError);
});

test('mysql_native_password hash matches MySQL PASSWORD()', () => {
  // SELECT PASSWORD('password') on MySQL 5.7 / MariaDB
  assert.equal(mysqlNativePasswordHash('password'), '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
});
