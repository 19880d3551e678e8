// Tampering with JSON-lines audit files, each case detected by the verifier and the event named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditRecord, type ChainHead, recordHash } from './chain.ts';
import { type AuditDigest, loadDigests } from './digest.ts';
import { AuditLog } from './log.ts';
import { FileSink, listFileSet } from './sinks/file.ts';
import { sampleEvent, testBarrier } from './testing.ts';
import { verifyFiles } from './verify-file.ts';
import type { Problem } from './verify.ts';

/** seqs 1..10, digest, 11..15, digest, 16..18 in one file. */
async function trail(opts: { maxBytes?: number } = {}) {
  const { barrier } = await testBarrier();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-'));
  const path = join(dir, 'audit.jsonl');
  const sink = new FileSink({ path, ...opts });
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [sink], digestPeriodMs: 0 });
  for (let i = 1; i <= 10; i++) await log.append(sampleEvent(i));
  await log.closePeriod();
  for (let i = 11; i <= 15; i++) await log.append(sampleEvent(i));
  await log.closePeriod();
  for (let i = 16; i <= 18; i++) await log.append(sampleEvent(i));
  await sink.close(); // leave 16..18 open (no closing digest), as after a crash
  const storeDigests = (await loadDigests(barrier, 'n1')).map((d) => d.digest!) as AuditDigest[];
  const head: ChainHead = log.chainHead;
  const lines = () => readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const write = (ls: string[]) => writeFileSync(path, ls.join('\n') + '\n');
  const indexOfSeq = (ls: string[], seq: number) => ls.findIndex((l) => (JSON.parse(l) as { seq?: number }).seq === seq);
  const verify = (extra: Partial<Parameters<typeof verifyFiles>[0]> = {}) => verifyFiles({ path, publicKey: log.publicKey, ...extra });
  return { dir, path, log, lines, write, indexOfSeq, verify, storeDigests, head };
}

function first(problems: Problem[]): Problem {
  assert.ok(problems.length > 0, 'expected the verifier to find a problem');
  return problems[0]!;
}

test('an untouched file verifies', async () => {
  const t = await trail();
  const r = await t.verify();
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.deepEqual(r.nodes, [{ node: 'n1', startedFrom: 'genesis', fromSeq: 1, toSeq: 18, events: 18, digests: 2 }]);
});

test('editing one field of a line is detected, naming seq, eventID and line', async () => {
  const t = await trail();
  const ls = t.lines();
  const i = t.indexOfSeq(ls, 5);
  const rec = JSON.parse(ls[i]!) as { event: { eventName: string; eventID: string } };
  rec.event.eventName = 'DescribeKey';
  ls[i] = JSON.stringify(rec);
  t.write(ls);
  const p = first((await t.verify()).problems);
  assert.deepEqual([p.kind, p.seq, p.eventID, p.where], ['modified', 5, rec.event.eventID, `audit.jsonl:${i + 1}`]);
});

test('deleting one line is detected as a missing seq', async () => {
  const t = await trail();
  const ls = t.lines();
  ls.splice(t.indexOfSeq(ls, 7), 1);
  t.write(ls);
  const p = first((await t.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['missing', 7]);
});

test('swapping two lines is detected as reordered', async () => {
  const t = await trail();
  const ls = t.lines();
  const [i, j] = [t.indexOfSeq(ls, 3), t.indexOfSeq(ls, 4)];
  [ls[i], ls[j]] = [ls[j]!, ls[i]!];
  t.write(ls);
  const problems = (await t.verify()).problems;
  const p = first(problems);
  assert.equal(p.kind, 'reordered');
  assert.match(p.message, /seq 4 .* appears before seq 3/);
  assert.equal(problems.length, 1, JSON.stringify(problems));
});

test('truncating the tail: detected by the digests and head kept in the store', async () => {
  const t = await trail();
  const ls = t.lines();
  t.write(ls.slice(0, t.indexOfSeq(ls, 14))); // cuts 14..18 and the digest for 11..15
  // The file alone cannot know what came after its last digest line (1..10) ...
  assert.equal((await t.verify()).ok, true);
  // ... but the store's digests can.
  const p = first((await t.verify({ digests: t.storeDigests })).problems);
  assert.deepEqual([p.kind, p.seq], ['truncated', 14]);
  assert.match(p.message, /seqs 14\.\.15 are missing at the end \(last present: seq 13/);
  // Events after the last digest are named by the store's head record.
  const t2 = await trail();
  const l2 = t2.lines();
  t2.write(l2.slice(0, t2.indexOfSeq(l2, 17)));
  const p2 = first((await t2.verify({ digests: t2.storeDigests, heads: { n1: t2.head } })).problems);
  assert.deepEqual([p2.kind, p2.seq], ['truncated', 17]);
});

// Issue 17, item 5: verify --file compared only the store's last seq, so an event edited after the
// last digest with the rest of the chain recomputed passed. The store's head hash exposes it.
test('an event after the last digest edited and the chain re-hashed to the end: detected by the store head\'s hash', async () => {
  const t = await trail();
  const ls = t.lines();
  const i17 = t.indexOfSeq(ls, 17);
  const r17 = JSON.parse(ls[i17]!) as AuditRecord;
  r17.event.eventName = 'Nothing';
  r17.hash = recordHash(r17);
  ls[i17] = JSON.stringify(r17);
  const i18 = t.indexOfSeq(ls, 18);
  const r18 = JSON.parse(ls[i18]!) as AuditRecord;
  r18.prevHash = r17.hash;
  r18.hash = recordHash(r18);
  ls[i18] = JSON.stringify(r18);
  t.write(ls);
  // inside the file everything is consistent, and the store's digests and head seq agree
  assert.equal((await t.verify({ digests: t.storeDigests, heads: { n1: { seq: 18, hash: r18.hash } } })).ok, true);
  const p = first((await t.verify({ digests: t.storeDigests, heads: { n1: t.head } })).problems);
  assert.deepEqual([p.kind, p.seq], ['modified', 16]);
  assert.equal(p.message, "seqs 16..18 do not match the store's chain head (seq 18 has another hash there): an event after the last digest was modified and the chain re-hashed");
  // untouched, the same head verifies
  const clean = await trail();
  assert.equal((await clean.verify({ digests: clean.storeDigests, heads: { n1: clean.head } })).ok, true);
});

test('a forged digest line (edited, or removed so the next does not follow) is detected', async () => {
  const t = await trail();
  const ls = t.lines();
  const di = ls.findIndex((l) => l.includes('"toSeq":15'));
  const d = JSON.parse(ls[di]!) as { digest: AuditDigest };
  d.digest.lastHash = 'b'.repeat(64);
  ls[di] = JSON.stringify(d);
  t.write(ls);
  const p = first((await t.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['forged-digest', 15]);
  assert.match(p.message, /bad-signature/);

  const t2 = await trail();
  const l2 = t2.lines();
  l2.splice(l2.findIndex((l) => l.includes('"toSeq":10')), 1);
  t2.write(l2);
  const p2 = first((await t2.verify()).problems);
  assert.deepEqual([p2.kind, p2.seq], ['missing-digest', 11]);
});

test('a torn or garbled line is reported at its line', async () => {
  const t = await trail();
  const ls = t.lines();
  ls[2] = ls[2]!.slice(0, 40);
  t.write(ls);
  const problems = (await t.verify()).problems;
  const p = first(problems);
  assert.equal(p.kind, 'modified');
  assert.equal(p.where, 'audit.jsonl:3');
  assert.equal(problems.filter((x) => x.kind === 'missing').length, 0);
});

test('rolled files verify as one chain; a deleted oldest file is reported as a missing beginning', async () => {
  const t = await trail({ maxBytes: 4000 });
  const files = await listFileSet(t.path);
  assert.ok(files.length >= 3, `expected rollover, got ${files.join(', ')}`);
  assert.match(readdirSync(t.dir).sort().join(' '), /audit\.1\.jsonl/);
  const ok = await t.verify();
  assert.equal(ok.ok, true, JSON.stringify(ok.problems));
  assert.equal(ok.nodes[0]!.events, 18);
  rmSync(files[0]!);
  const p = first((await t.verify()).problems);
  assert.deepEqual([p.kind, p.seq], ['missing', 1]);
});
