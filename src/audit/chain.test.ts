import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../crypto/index.ts';
import { EMPTY_HEAD, GENESIS_HASH, chainEvents, recordHash } from './chain.ts';
import { canonicalJson } from './canonical.ts';
import { sampleEvent } from './testing.ts';
import type { AuditEvent } from './event.ts';

test('hash = sha256(prevHash || canonical JSON of {event, node, seq}), spelled out by hand', () => {
  const event = { eventName: 'Encrypt', eventID: 'e1' } as unknown as AuditEvent;
  const expected = sha256(GENESIS_HASH + '{"event":{"eventID":"e1","eventName":"Encrypt"},"node":"n1","seq":1}').toString('hex');
  assert.equal(recordHash({ node: 'n1', seq: 1, prevHash: GENESIS_HASH, event }), expected);
  // a saved value: changing the definition breaks every stored chain, so it must fail a test
  assert.equal(expected, '412d873ea136247658111f3522d24737c4e85e8f7c4d42a2331cfc235274aab4');
});

test('chainEvents links each record to the previous hash and numbers from the head', () => {
  const { records, head } = chainEvents('n1', EMPTY_HEAD, [sampleEvent(1), sampleEvent(2), sampleEvent(3)]);
  assert.deepEqual(records.map((r) => r.seq), [1, 2, 3]);
  assert.equal(records[0]!.prevHash, GENESIS_HASH);
  assert.equal(records[1]!.prevHash, records[0]!.hash);
  assert.equal(records[2]!.prevHash, records[1]!.hash);
  assert.deepEqual(head, { seq: 3, hash: records[2]!.hash });
  for (const r of records) assert.equal(recordHash(r), r.hash);
  const more = chainEvents('n1', head, [sampleEvent(4)]);
  assert.equal(more.records[0]!.seq, 4);
  assert.equal(more.records[0]!.prevHash, records[2]!.hash);
});

test('any change to event, node or seq changes the hash', () => {
  const [r] = chainEvents('n1', EMPTY_HEAD, [sampleEvent(1)]).records;
  const base = recordHash(r!);
  assert.notEqual(recordHash({ ...r!, node: 'n2' }), base);
  assert.notEqual(recordHash({ ...r!, seq: 2 }), base);
  assert.notEqual(recordHash({ ...r!, event: { ...r!.event, sourceIPAddress: '10.0.0.2' } }), base);
  assert.notEqual(recordHash({ ...r!, prevHash: 'f'.repeat(64) }), base);
});

test('the line written by sinks is the canonical JSON of the record, and re-hashes to its hash', () => {
  const { records, lines } = chainEvents('node-1.a', EMPTY_HEAD, [sampleEvent(1), sampleEvent(2)]);
  for (let i = 0; i < 2; i++) {
    assert.equal(lines[i], canonicalJson(records[i]));
    const parsed = JSON.parse(lines[i]!) as typeof records[0];
    assert.equal(recordHash(parsed), parsed.hash);
    assert.deepEqual(parsed, records[i]);
  }
});
