import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mariaDbConfigBlock, mariaDbFlags, mariaDbOptions } from './mariadb-config.ts';

const input = { endpoint: 'https://rekey.internal:8370/', keyring: 'shop', token: 'rk.t', caFile: '/etc/mysql/ca.pem' };

test('the vault URL is <endpoint>/v1/mariadb/<keyring> (no double slash), the CA only when given', () => {
  const o = new Map(mariaDbOptions(input));
  assert.equal(o.get('hashicorp-key-management-vault-url'), 'https://rekey.internal:8370/v1/mariadb/shop');
  assert.equal(o.get('hashicorp-key-management-vault-ca'), '/etc/mysql/ca.pem');
  assert.equal(new Map(mariaDbOptions({ ...input, caFile: undefined as unknown as string })).has('hashicorp-key-management-vault-ca'), false);
});

test('every encryption MariaDB offers is on, and the plugin cannot be unloaded', () => {
  const o = new Map(mariaDbOptions(input));
  for (const [k, v] of [['innodb-encrypt-tables', 'FORCE'], ['innodb-encrypt-log', 'ON'], ['innodb-encrypt-temporary-tables', 'ON'], ['encrypt-binlog', 'ON'],
    ['encrypt-tmp-files', 'ON'], ['aria-encrypt-tables', 'ON'], ['hashicorp-key-management', 'FORCE_PLUS_PERMANENT']] as const) {
    assert.equal(o.get(k), v, k);
  }
  assert.ok(Number(o.get('innodb-encryption-threads')) >= 1, 'background re-encryption runs');
});

test('the block and the flags carry the same options', () => {
  const block = mariaDbConfigBlock(input).trim().split('\n');
  const flags = mariaDbFlags(input);
  assert.equal(block[0], '[mariadb]');
  assert.equal(block.length - 1, flags.length);
  for (const [i, f] of flags.entries()) {
    const [k, v] = f.slice(2).split(/=(.*)/s);
    assert.equal(block[i + 1], `${k!.replace(/-/g, '_')} = ${v}`);
  }
});
