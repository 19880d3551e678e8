import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalFailure } from '../errors.ts';
import { type AuditRecord, GENESIS_HASH, recordHash } from './chain.ts';
import { AuditLog } from './log.ts';
import { checkDigestSignature, loadDigests } from './digest.ts';
import { FileSink } from './sinks/file.ts';
import { StoreSink } from './sinks/store.ts';
import type { AuditSink, SinkBatch } from './sinks/types.ts';
import { StdoutSink } from './sinks/stdout.ts';
import { sampleEvent, testBarrier } from './testing.ts';
import { verifyFiles } from './verify-file.ts';
import { lastVerification } from './verifications.ts';

/** Counts write calls and the records they carried. */
class CountingSink extends StoreSink {
  writes = 0;
  override async write(batch: SinkBatch): Promise<void> {
    if (batch.records.length > 0) this.writes++;
    return super.write(batch);
  }
}

async function storedRecords(store: StoreSink): Promise<AuditRecord[]> {
  return (await store.readBatches('n1', 1, Number.MAX_SAFE_INTEGER, 1000)).flatMap((b) => b.records!.map((r) => r!));
}

class FailingSink implements AuditSink {
  readonly name = 'failing';
  readonly durable = true;
  async recover(): Promise<null> {
    return null;
  }
  async write(): Promise<void> {
    throw new Error('disk on fire');
  }
  async close(): Promise<void> {}
}

test('append resolves after the event is stored, chained from genesis', async () => {
  const { barrier } = await testBarrier();
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  await log.append(sampleEvent(1));
  await log.append(sampleEvent(2));
  const stored = await storedRecords(new StoreSink(barrier));
  assert.deepEqual(stored.map((r) => r.seq), [1, 2]);
  assert.equal(stored[0]!.prevHash, GENESIS_HASH);
  assert.equal(stored[1]!.prevHash, stored[0]!.hash);
  assert.equal(stored[1]!.event.requestID, 'req-2');
  assert.deepEqual(log.chainHead, { seq: 2, hash: stored[1]!.hash });
  await log.close();
});

test('group commit: 1000 concurrent appends form one valid chain in far fewer writes than events', async () => {
  const { barrier } = await testBarrier();
  const sink = new CountingSink(barrier);
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [sink], digestPeriodMs: 0 });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(sampleEvent(i))));
  assert.equal(log.stats.events, 1000);
  assert.ok(sink.writes <= 10, `expected batched writes, got ${sink.writes}`);
  assert.ok(log.stats.batches < 1000);
  const stored = await storedRecords(sink);
  assert.equal(stored.length, 1000);
  assert.equal((await barrier.list('audit/events/n1/')).length, sink.writes, 'one stored value per batch');
  // appends are chained in call order
  assert.deepEqual(stored.map((r) => r.event.requestID), Array.from({ length: 1000 }, (_, i) => `req-${i}`));
  await log.closePeriod();
  const result = await log.verify();
  assert.equal(result.ok, true, JSON.stringify(result.problems[0]));
  assert.equal(result.nodes[0]!.events, 1000);
  await log.close();
});

test('the only sink unwritable (file in a missing directory): append rejects and the chain does not advance', async () => {
  const { barrier } = await testBarrier();
  const dir = join(mkdtempSync(join(tmpdir(), 'rekey-audit-')), 'does-not-exist');
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new FileSink({ path: join(dir, 'audit.jsonl') })], digestPeriodMs: 0 });
  await assert.rejects(log.append(sampleEvent(1)), (e: unknown) => {
    assert.ok(e instanceof InternalFailure);
    assert.equal((e as Error).message, 'The request could not be audited; it was not performed.');
    return true;
  });
  assert.deepEqual(log.chainHead, { seq: 0, hash: GENESIS_HASH });
  assert.equal(log.stats.refused, 1);
  await log.close();
});

test('a full disk as the only sink makes append reject too (/dev/full: every write fails with ENOSPC)', async () => {
  // (file modes cannot stand in for an unwritable file here: tests run as root, which ignores them)
  const { barrier } = await testBarrier();
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new FileSink({ path: '/dev/full' })], digestPeriodMs: 0 });
  await assert.rejects(log.append(sampleEvent(1)), InternalFailure);
  assert.equal(log.chainHead.seq, 0);
  await log.close().catch(() => undefined);
});

test('forwarders alone are refused at open; one good durable sink is enough when another fails', async () => {
  const { barrier } = await testBarrier();
  await assert.rejects(AuditLog.open({ node: 'n1', barrier, sinks: [new StdoutSink()] }), { name: 'ConfigurationError' });
  await assert.rejects(AuditLog.open({ node: 'bad/name', barrier, sinks: [new StoreSink(barrier)] }), { name: 'ConfigurationError' });
  const failures: string[] = [];
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new FailingSink(), new StoreSink(barrier)], digestPeriodMs: 0, onSinkError: (s) => failures.push(s) });
  await log.append(sampleEvent(1));
  assert.deepEqual(failures, ['failing']);
  assert.equal(log.chainHead.seq, 1);
  await log.close();
});

test('after a refused batch the next append reuses the seq: no gap for requests that were not performed', async () => {
  const { barrier } = await testBarrier();
  let broken = true;
  const store = new StoreSink(barrier);
  const flaky: AuditSink = {
    name: 'flaky', durable: true,
    recover: (n) => store.recover(n),
    write: (b) => (broken ? Promise.reject(new Error('transient')) : store.write(b)),
    close: async () => {},
  };
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [flaky], digestPeriodMs: 0 });
  await assert.rejects(log.append(sampleEvent(1)), InternalFailure);
  broken = false;
  await log.append(sampleEvent(2));
  const stored = await storedRecords(store);
  assert.deepEqual(stored.map((r) => [r.seq, r.event.requestID]), [[1, 'req-2']]);
  await log.close();
});

test('a restarted node continues its chain and its digest chain', async () => {
  const { barrier } = await testBarrier();
  const a = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  await a.append(sampleEvent(1));
  await a.close(); // closes the period with a digest
  const b = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  assert.equal(b.chainHead.seq, 1);
  await b.append(sampleEvent(2));
  await b.close();
  const digests = (await loadDigests(barrier, 'n1')).map((d) => d.digest!);
  assert.deepEqual(digests.map((d) => [d.fromSeq, d.toSeq, d.count]), [[1, 1, 1], [2, 2, 1]]);
  assert.equal(digests[1]!.previousDigestSignature, digests[0]!.signature);
  assert.equal(digests[1]!.fromPrevHash, digests[0]!.lastHash);
  assert.equal(checkDigestSignature(digests[1]!, b.publicKey), 'ok');
  const c = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  assert.equal((await c.verify()).ok, true);
  assert.equal(await c.closePeriod(), null, 'no events: no digest');
  await c.close();
  await assert.rejects(c.append(sampleEvent(3)), InternalFailure);
});

test('the file sink alone: a restarted node recovers its head from the file; digests land in the file', async () => {
  const { barrier } = await testBarrier();
  const path = join(mkdtempSync(join(tmpdir(), 'rekey-audit-')), 'audit.jsonl');
  const a = await AuditLog.open({ node: 'n1', barrier, sinks: [new FileSink({ path })], digestPeriodMs: 0 });
  await Promise.all([a.append(sampleEvent(1)), a.append(sampleEvent(2))]);
  await a.close();
  const b = await AuditLog.open({ node: 'n1', barrier, sinks: [new FileSink({ path })], digestPeriodMs: 0 });
  assert.equal(b.chainHead.seq, 2);
  await b.append(sampleEvent(3));
  await b.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => ('digest' in l ? 'D' : String(l.seq))), ['1', '2', 'D', '3', 'D']);
  const r = await verifyFiles({ path, publicKey: b.publicKey });
  assert.equal(r.ok, true, JSON.stringify(r.problems[0]));
  for (const l of lines) if (!('digest' in l)) assert.equal(recordHash(l as never), l.hash);
});

test('digests close on the period timer', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] }); // the period timer, ticked by hand
  const { barrier } = await testBarrier();
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 1000 });
  await log.append(sampleEvent(1));
  t.mock.timers.tick(999);
  await log.settled();
  assert.equal(log.stats.digests, 0);
  t.mock.timers.tick(1);
  await log.settled(); // queued behind the digest the timer started
  assert.equal(log.stats.digests, 1);
  assert.equal((await loadDigests(barrier, 'n1')).length, 1);
  await log.close();
});

test('two logs on one store under the same node name never interleave a forked chain', async () => {
  const { barrier } = await testBarrier();
  const a = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  const b = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  await a.append(sampleEvent(1));
  await assert.rejects(b.append(sampleEvent(2)), InternalFailure); // b's head is stale: CAS fails
  await b.append(sampleEvent(3)); // b re-read the head and continues after a's event
  await a.append(sampleEvent(4)).catch(() => a.append(sampleEvent(4)));
  const r = await b.verify();
  assert.equal(r.ok, true, JSON.stringify(r.problems[0]));
  await a.close();
  await b.close();
});

test('verify over the whole store records the run (audit/verifications/last); a partial one does not', async () => {
  const { barrier } = await testBarrier();
  let now = new Date('2030-01-01T00:00:00.000Z');
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0, clock: () => now });
  for (let i = 1; i <= 3; i++) await log.append(sampleEvent(i));
  await log.settled();
  assert.equal(await lastVerification(barrier), null);
  assert.equal((await log.verify()).ok, true);
  assert.deepEqual(await lastVerification(barrier), { at: '2030-01-01T00:00:00.000Z', ok: true, problems: 0, nodes: 1, events: 3, pinnedKey: false });
  now = new Date('2030-01-02T00:00:00.000Z');
  await log.verify({ node: 'n1' });
  assert.equal((await lastVerification(barrier))?.at, '2030-01-01T00:00:00.000Z');
  await log.close();
});

/** A store sink whose commits are relaxed, counting its sync() calls; `syncFails` makes sync throw. */
class RelaxedSink extends StoreSink {
  syncs = 0;
  syncFails = false;
  constructor(barrier: ConstructorParameters<typeof StoreSink>[0]) {
    super(barrier, { relaxed: true });
  }
  override async sync(): Promise<void> {
    this.syncs++;
    if (this.syncFails) throw new Error('fsync failed');
    await super.sync();
  }
}

test('a relaxed store copy counts beside a durable file; alone (the file failed) it is synced first, and a failed sync refuses the call', async () => {
  const { barrier } = await testBarrier();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-relaxed-'));
  const store = new RelaxedSink(barrier);
  const good = await AuditLog.open({ node: 'n1', barrier, sinks: [store, new FileSink({ path: join(dir, 'audit.jsonl') })], digestPeriodMs: 0 });
  await good.append(sampleEvent(1));
  assert.equal(store.syncs, 0, 'the file made the batch durable: no store flush');
  await good.close();

  const store2 = new RelaxedSink(barrier);
  const failures: string[] = [];
  const log = await AuditLog.open({ node: 'n2', barrier, sinks: [store2, new FailingSink()], digestPeriodMs: 0, onSinkError: (s) => failures.push(s) });
  await log.append(sampleEvent(2));
  assert.equal(store2.syncs, 1, 'only the relaxed copy landed: it was flushed before the call succeeded');
  store2.syncFails = true;
  await assert.rejects(log.append(sampleEvent(3)), InternalFailure);
  assert.ok(failures.includes('store'), 'the failed flush is reported');
  await log.close();
});
