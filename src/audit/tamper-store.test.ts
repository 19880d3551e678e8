// Tampering with the stored trail, each case detected by the verifier and the event named.
// Most edits go through the barrier (an insider holding the root key: the hardest case, since the
// barrier's own authentication is satisfied); one goes under it, at the storage backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../storage/memory.ts';
import { type AuditRecord, recordHash } from './chain.ts';
import { type AuditDigest, DigestSigner, signingPayload } from './digest.ts';
import { AuditLog } from './log.ts';
import { digestPath, eventPath, headPath } from './paths.ts';
import { StoreSink } from './sinks/store.ts';
import { sampleEvent, testBarrier } from './testing.ts';
import type { Problem } from './verify.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** 18 events; digests close seqs 1..10 (at 13:00) and 11..15 (at 14:00); 16..18 are still open. */
async function trail() {
  const { backend, barrier } = await testBarrier();
  let now = T0 + HOUR;
  const store = new StoreSink(barrier);
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [store], digestPeriodMs: 0, clock: () => new Date(now) });
  for (let i = 1; i <= 10; i++) await log.append(sampleEvent(i, new Date(T0 + i * 60_000)));
  await log.closePeriod();
  now = T0 + 2 * HOUR;
  for (let i = 11; i <= 15; i++) await log.append(sampleEvent(i, new Date(T0 + HOUR + i * 60_000)));
  await log.closePeriod();
  for (let i = 16; i <= 18; i++) await log.append(sampleEvent(i, new Date(T0 + 2 * HOUR + i * 60_000)));
  const get = async (seq: number) => (await barrier.getJSON<AuditRecord>(eventPath('n1', seq)))!.value;
  const put = (r: AuditRecord, seq = r.seq) => barrier.putJSON(eventPath('n1', seq), r);
  return { backend, barrier, store, log, get, put };
}

function first(problems: Problem[]): Problem {
  assert.ok(problems.length > 0, 'expected the verifier to find a problem');
  return problems[0]!;
}

test('an untouched trail verifies, in full and over a time range', async () => {
  const { log } = await trail();
  const all = await log.verify();
  assert.equal(all.ok, true, JSON.stringify(all.problems));
  assert.deepEqual(all.nodes, [{ node: 'n1', startedFrom: 'genesis', fromSeq: 1, toSeq: 18, events: 18, digests: 2 }]);
  const range = await log.verify({ from: new Date(T0 + HOUR + 30 * 60_000), to: new Date(T0 + HOUR + 40 * 60_000) });
  assert.equal(range.ok, true);
  assert.deepEqual(range.nodes[0], { node: 'n1', startedFrom: 'digest', fromSeq: 11, toSeq: 15, events: 5, digests: 1 });
});

test('editing one field is detected and the event named', async () => {
  const t = await trail();
  const r = await t.get(5);
  r.event.sourceIPAddress = '203.0.113.66';
  await t.put(r);
  const p = first((await t.log.verify()).problems);
  assert.equal(p.kind, 'modified');
  assert.equal(p.seq, 5);
  assert.equal(p.eventID, r.event.eventID);
  assert.match(p.message, /seq 5 .*was modified: its content does not match its hash/);
});

test('editing a field and re-hashing that event is detected at the event', async () => {
  const t = await trail();
  const r = await t.get(12);
  r.event.userIdentity.arn = 'arn:aws:iam::111122223333:user/mallory';
  r.hash = recordHash(r);
  await t.put(r);
  const p = first((await t.log.verify()).problems);
  assert.deepEqual([p.kind, p.seq, p.eventID], ['modified', 12, r.event.eventID]);
  assert.match(p.message, /re-hashed/);
});

test('rewriting and re-hashing the whole rest of the chain is caught by the signed digest', async () => {
  const t = await trail();
  let prev = (await t.get(4)).hash;
  for (let s = 5; s <= 18; s++) {
    const r = await t.get(s);
    if (s === 5) r.event.eventName = 'DescribeKey';
    r.prevHash = prev;
    r.hash = recordHash(r);
    prev = r.hash;
    await t.put(r);
  }
  await t.barrier.putJSON(headPath('n1'), { seq: 18, hash: prev, updatedAt: new Date().toISOString() });
  const p = first((await t.log.verify()).problems);
  assert.equal(p.kind, 'modified');
  assert.equal(p.seq, 1);
  assert.match(p.message, /seqs 1\.\.10 do not match their signed digest/);
});

test('deleting one event is detected as missing, by seq', async () => {
  const t = await trail();
  await t.barrier.delete(eventPath('n1', 7));
  const p = first((await t.log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['missing', 7]);
  assert.match(p.message, /seq 7 is missing \(next present: seq 8 \(eventID /);
});

test('swapping two events is detected as reordered, naming them', async () => {
  const t = await trail();
  const [a, b] = [await t.get(3), await t.get(4)];
  await t.put(b, 3);
  await t.put(a, 4);
  const problems = (await t.log.verify()).problems;
  const p = first(problems);
  assert.equal(p.kind, 'reordered');
  assert.deepEqual([p.seq, p.eventID], [4, b.event.eventID]);
  assert.match(p.message, /seq 4 \(eventID .*\) appears before seq 3: events were reordered/);
  assert.equal(problems.length, 1, JSON.stringify(problems));
});

test('truncating the tail is detected: open period via the head record, closed period via its digest', async () => {
  const t = await trail();
  for (const s of [16, 17, 18]) await t.barrier.delete(eventPath('n1', s));
  let p = first((await t.log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['truncated', 16]);
  assert.match(p.message, /seqs 16\.\.18 are missing at the end \(last present: seq 15/);
  // the attacker also rolls the head record back: the digest closing 11..15 still names seq 15
  for (const s of [14, 15]) await t.barrier.delete(eventPath('n1', s));
  await t.barrier.putJSON(headPath('n1'), { seq: 13, hash: (await t.get(13)).hash, updatedAt: '' });
  p = first((await t.log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['truncated', 14]);
  assert.match(p.message, /seqs 14\.\.15 are missing at the end/);
});

test('a forged digest (another key, or edited without re-signing) is detected', async () => {
  const t = await trail();
  const key = digestPath('n1', 15);
  const real = (await t.barrier.getJSON<AuditDigest>(key))!.value;
  const other = await DigestSigner.loadOrCreate((await testBarrier()).barrier);
  const { signature: _s, publicKeyFingerprint: _f, version: _v, ...unsigned } = real;
  await t.barrier.putJSON(key, other.sign({ ...unsigned, lastHash: 'a'.repeat(64) }));
  let p = first((await t.log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['forged-digest', 15]);
  assert.match(p.message, /digest for seqs 11\.\.15 is forged \(wrong-key\)/);
  await t.barrier.putJSON(key, { ...real, count: 4 });
  p = first((await t.log.verify()).problems);
  assert.match(p.message, /forged \(bad-signature\)/);
  assert.ok(signingPayload(real).startsWith('rekey-audit-digest-v1\n'));
});

test('deleting a digest is detected by the next one', async () => {
  const t = await trail();
  await t.barrier.delete(digestPath('n1', 10));
  const p = first((await t.log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['missing-digest', 11]);
});

test('flipping a byte under the barrier makes the event unreadable, reported at its slot', async () => {
  const t = await trail();
  const backend = t.barrier.backend as MemoryBackend;
  const e = (await backend.get(eventPath('n1', 9)))!;
  const v = Uint8Array.from(e.value);
  v[v.length - 1] = v[v.length - 1]! ^ 0x01;
  await backend.put(eventPath('n1', 9), v);
  const problems = (await t.log.verify()).problems;
  const p = first(problems);
  assert.deepEqual([p.kind, p.seq], ['modified', 9]);
  assert.match(p.message, /unreadable/);
  assert.equal(problems.filter((x) => x.kind === 'missing').length, 0, 'an unreadable slot is not also reported missing');
});

test('inside one group-commit batch: an edited line, a removed line, a deleted batch are each named', async () => {
  const { barrier } = await testBarrier();
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(sampleEvent(i + 1))));
  await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(sampleEvent(i + 21))));
  assert.deepEqual(await barrier.list('audit/events/n1/'), [eventPath('n1', 20), eventPath('n1', 30)], 'two batches');
  const original = (await barrier.get(eventPath('n1', 20)))!.value.toString('utf8');
  const lines = original.trimEnd().split('\n');
  const rewrite = (ls: string[]) => barrier.put(eventPath('n1', 20), Buffer.from(ls.join('\n') + '\n'));

  const edited = JSON.parse(lines[6]!) as AuditRecord;
  edited.event.awsRegion = 'eu-west-1';
  await rewrite([...lines.slice(0, 6), JSON.stringify(edited), ...lines.slice(7)]);
  let p = first((await log.verify()).problems);
  assert.deepEqual([p.kind, p.seq, p.eventID, p.where], ['modified', 7, edited.event.eventID, `${eventPath('n1', 20)}#7`]);

  await rewrite(lines.filter((_, i) => i !== 11));
  p = first((await log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['missing', 12]);

  await rewrite(lines);
  assert.equal((await log.verify()).ok, true);
  await barrier.delete(eventPath('n1', 30));
  p = first((await log.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['truncated', 21]);
  await log.close();
});
