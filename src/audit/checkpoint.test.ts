// Issue 17, item 1: the stored trail could be blinded without the root key. The verifier found
// nodes only from audit/head/<node> rows, so deleting those (and the digests) and then deleting
// or moving events printed "audit verify: OK" with no nodes; deleting the newest events together
// with their head and digest hid them. Now nodes come from the events themselves, a missing or
// rolled-back head is reported, and a signed checkpoint kept outside the store exposes the rest.
// Every attack here works at the storage backend (a database administrator without the root key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCheckpointSignature, takeCheckpoint, verifyAgainstCheckpoint, type AuditCheckpoint } from './checkpoint.ts';
import { DigestSigner } from './digest.ts';
import { AuditLog } from './log.ts';
import { DIGESTS_PREFIX, HEAD_PREFIX, digestPath, eventPath, headPath } from './paths.ts';
import { StoreSink } from './sinks/store.ts';
import { sampleEvent, testBarrier } from './testing.ts';

/** Two nodes; n1: 18 events, digests at 10 and 15; n2: 3 events. Raw head rows kept as they were after seq 10. */
async function trail() {
  const { backend, barrier } = await testBarrier();
  const store = new StoreSink(barrier);
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [store], digestPeriodMs: 0 });
  for (let i = 1; i <= 10; i++) await log.append(sampleEvent(i));
  await log.closePeriod();
  const headAt10 = (await backend.get(headPath('n1')))!.value;
  for (let i = 11; i <= 15; i++) await log.append(sampleEvent(i));
  await log.closePeriod();
  for (let i = 16; i <= 18; i++) await log.append(sampleEvent(i));
  const log2 = await AuditLog.open({ node: 'n2', barrier, sinks: [store], digestPeriodMs: 0 });
  for (let i = 1; i <= 3; i++) await log2.append(sampleEvent(100 + i));
  const signer = await DigestSigner.loadOrCreate(barrier);
  return { backend, barrier, store, log, signer, headAt10 };
}

test('deleting every head and digest row, then deleting or moving events, no longer verifies as OK', async () => {
  const t = await trail();
  for (const k of await t.backend.list(HEAD_PREFIX)) await t.backend.delete(k);
  for (const k of await t.backend.list(DIGESTS_PREFIX)) await t.backend.delete(k);
  await t.backend.delete(eventPath('n1', 5));
  await t.backend.put(eventPath('n1', 7), (await t.backend.get(eventPath('n1', 8)))!.value); // a moved row
  const r = await t.log.verify();
  assert.equal(r.ok, false);
  assert.deepEqual(r.nodes.map((n) => n.node), ['n1', 'n2'], 'nodes are found from their events');
  const kinds = r.problems.filter((p) => p.node === 'n1').map((p) => `${p.kind}@${p.seq}`);
  assert.ok(kinds.includes('missing@5'), kinds.join(' '));
  assert.ok(kinds.includes('modified@7'), kinds.join(' '));
  const head = r.problems.find((p) => p.where === headPath('n1'));
  assert.equal(head?.message, 'audit/head/n1: the chain head record is missing while events up to seq 18 exist: it was deleted');
  assert.equal(r.problems.find((p) => p.node === 'n2')?.message, 'audit/head/n2: the chain head record is missing while events up to seq 3 exist: it was deleted');
});

test('deleting every digest row (the heads kept) is reported: the head names the newest digest', async () => {
  const t = await trail();
  for (const k of await t.backend.list(DIGESTS_PREFIX)) await t.backend.delete(k);
  const p = (await t.log.verify()).problems;
  assert.deepEqual(p.map((x) => [x.kind, x.node, x.seq, x.message]), [
    ['missing-digest', 'n1', 15, 'audit/digests/n1/0000000000000015: the digest ending at seq 15, named by the chain head record, is gone'],
  ]);
});

test('an older head row written back while later events remain is reported', async () => {
  const t = await trail();
  await t.backend.put(headPath('n1'), t.headAt10);
  const p = (await t.log.verify()).problems;
  assert.deepEqual(p.map((x) => [x.kind, x.seq, x.message]), [['modified', 11, 'audit/head/n1 names seq 10, but events up to seq 18 exist: an older head record was written back']]);
});

test('the newest events, their head and digest deleted (a consistent older state): the store alone verifies, the outside checkpoint does not', async () => {
  const t = await trail();
  const cp = await takeCheckpoint(t.store, t.signer, new Date('2024-05-01T15:00:00Z'));
  assert.deepEqual(cp.nodes['n1'], { seq: 18, hash: t.log.chainHead.hash, lastDigest: { toSeq: 15, signature: cp.nodes['n1']!.lastDigest!.signature } });
  assert.equal((await verifyAgainstCheckpoint(t.store, cp, t.signer.publicKey)).length, 0, 'an untouched store matches its checkpoint');
  // roll n1 back to seq 10: delete 11..18 and the digest for 11..15, write back the head of seq 10
  for (let s = 11; s <= 18; s++) await t.backend.delete(eventPath('n1', s));
  await t.backend.delete(digestPath('n1', 15));
  await t.backend.put(headPath('n1'), t.headAt10);
  // and delete node n2 entirely
  for (const k of await t.backend.list('audit/events/n2/')) await t.backend.delete(k);
  await t.backend.delete(headPath('n2'));
  assert.equal((await t.log.verify()).ok, true, 'nothing inside the store shows the cut');
  const problems = await verifyAgainstCheckpoint(t.store, cp, t.signer.publicKey);
  assert.deepEqual(problems.map((p) => [p.kind, p.node, p.seq, p.message]), [
    ['truncated', 'n1', 18, 'seq 18, the chain head in the checkpoint of 2024-05-01T15:00:00.000Z, is no longer in the store: events were deleted or rolled back'],
    ['missing-digest', 'n1', 15, 'the digest ending at seq 15 named by the checkpoint of 2024-05-01T15:00:00.000Z is gone'],
    ['truncated', 'n2', 3, 'seq 3, the chain head in the checkpoint of 2024-05-01T15:00:00.000Z, is no longer in the store: events were deleted or rolled back'],
  ]);
});

test('a checkpoint edited to name less is refused by its signature', async () => {
  const t = await trail();
  const cp = await takeCheckpoint(t.store, t.signer);
  const edited: AuditCheckpoint = { ...cp, nodes: { ...cp.nodes, n1: { ...cp.nodes['n1']!, seq: 10 } } };
  assert.equal(checkCheckpointSignature(cp, t.signer.publicKey), 'ok');
  assert.equal(checkCheckpointSignature(edited, t.signer.publicKey), 'bad-signature');
  const p = await verifyAgainstCheckpoint(t.store, edited, t.signer.publicKey);
  assert.deepEqual(p.map((x) => [x.kind, x.message]), [['forged-digest', `the checkpoint of ${cp.createdAt} is not signed by the trusted key (bad-signature)`]]);
});
