import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { AuditLog } from '../audit/log.ts';
import { eventPath, headPath } from '../audit/paths.ts';
import { FileSink } from '../audit/sinks/file.ts';
import { StoreSink } from '../audit/sinks/store.ts';
import { sampleEvent, testBarrier } from '../audit/testing.ts';
import { lastVerification } from '../audit/verifications.ts';
import type { Barrier } from '../storage/barrier.ts';
import { registerAuditCommands } from './audit-command.ts';

async function run(barrier: Barrier, args: string[]): Promise<{ out: string; failed: boolean; opened: number }> {
  let out = '';
  let failed = false;
  let opened = 0;
  const program = new Command().exitOverride();
  registerAuditCommands(program, async () => {
    opened++;
    return { barrier };
  }, { out: { write: (s: string) => (out += s) }, fail: () => (failed = true) });
  await program.parseAsync(['node', 'rekey', 'audit', ...args]);
  return { out, failed, opened };
}

async function trail() {
  const { barrier } = await testBarrier();
  const path = join(mkdtempSync(join(tmpdir(), 'rekey-cli-')), 'audit.jsonl');
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier), new FileSink({ path })], digestPeriodMs: 0 });
  for (let i = 1; i <= 6; i++) await log.append(sampleEvent(i));
  await log.close();
  return { barrier, path, log };
}

test('audit verify: OK on an intact store; names the event and fails after tampering', async () => {
  const { barrier } = await trail();
  const ok = await run(barrier, ['verify']);
  assert.equal(ok.failed, false);
  assert.match(ok.out, /node n1: seqs 1\.\.6 \(6 events, 1 digests, from genesis\)\naudit verify: OK\n/);
  // the run is recorded for the compliance rule audit-not-verified
  const recorded = await lastVerification(barrier);
  assert.deepEqual({ ...recorded, at: undefined }, { at: undefined, ok: true, problems: 0, nodes: 1, events: 6, pinnedKey: false });
  assert.ok(Date.now() - Date.parse(recorded!.at) < 60_000);
  const r = (await barrier.getJSON<{ event: { eventName: string; eventID: string } }>(eventPath('n1', 4)))!.value;
  r.event.eventName = 'Nothing';
  await barrier.putJSON(eventPath('n1', 4), r);
  const bad = await run(barrier, ['verify']);
  assert.equal(bad.failed, true);
  assert.equal((await lastVerification(barrier))?.ok, false);
  assert.match(bad.out, new RegExp(`audit verify: FAILED \\(\\d+ problems?\\)\\n  modified: node n1 seq 4 eventID ${r.event.eventID}: `));
  const json = await run(barrier, ['verify', '--json']);
  assert.equal((JSON.parse(json.out) as { firstProblem: { seq: number } }).firstProblem.seq, 4);
});

test('audit verify --file with a pinned public key needs no store', async () => {
  const { barrier, path, log } = await trail();
  const pem = join(mkdtempSync(join(tmpdir(), 'rekey-cli-')), 'audit.pem');
  writeFileSync(pem, log.publicKey.pem);
  const r = await run(barrier, ['verify', '--file', path, '--public-key', pem]);
  assert.equal(r.opened, 0);
  assert.equal(r.failed, false, r.out);
  const withStore = await run(barrier, ['verify', '--file', path]);
  assert.equal(withStore.opened, 1);
  assert.equal(withStore.failed, false, withStore.out);
  writeFileSync(pem, 'not a key');
  await assert.rejects(run(barrier, ['verify', '--file', path, '--public-key', pem]), { name: 'ValidationException' });
});

test('audit lookup prints events as JSON; audit public-key prints the PEM', async () => {
  const { barrier, log } = await trail();
  const r = await run(barrier, ['lookup', '--max', '2', '--output', 'json']);
  const body = JSON.parse(r.out) as { events: { seq: number }[]; nextToken?: string };
  assert.deepEqual(body.events.map((e) => e.seq), [6, 5]);
  assert.ok(body.nextToken);
  const next = JSON.parse((await run(barrier, ['lookup', '--max', '2', '--next-token', body.nextToken, '--output', 'json'])).out) as { events: { seq: number }[] };
  assert.deepEqual(next.events.map((e) => e.seq), [4, 3]);
  const byName = JSON.parse((await run(barrier, ['lookup', '--event-name', 'Decrypt', '--output', 'json'])).out) as { events: unknown[] };
  assert.equal(byName.events.length, 0);
  // for people (the default): a table, newest first
  const rows = (await run(barrier, ['lookup', '--max', '2'])).out.trimEnd().split('\n');
  assert.match(rows[0]!, /^TIME +NODE +SEQ +SOURCE +EVENT +PRINCIPAL +RESOURCE +ERROR$/);
  assert.deepEqual(rows.slice(1, 3).map((l) => l.split(/ +/)[2]), ['6', '5']);
  assert.match(rows[3]!, /^more: --next-token /);
  await assert.rejects(run(barrier, ['lookup', '--from', 'yesterday']), { name: 'ValidationException' });
  const pk = await run(barrier, ['public-key']);
  assert.equal(pk.out, log.publicKey.pem.endsWith('\n') ? log.publicKey.pem : log.publicKey.pem + '\n');
  assert.match(pk.out, /^-----BEGIN PUBLIC KEY-----/);
});

test('audit public-key on a store without a signing key is a clear error', async () => {
  const { barrier } = await testBarrier();
  await assert.rejects(run(barrier, ['public-key']), { name: 'ValidationException', message: /no audit signing key yet/ });
});

test('audit checkpoint writes a signed checkpoint; verify --checkpoint reports events deleted after it', async () => {
  const { barrier } = await trail();
  const file = join(mkdtempSync(join(tmpdir(), 'rekey-cli-')), 'cp.json');
  const cp = await run(barrier, ['checkpoint', '--out', file]);
  assert.equal(cp.failed, false, cp.out);
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { nodes: Record<string, { seq: number }> }).nodes['n1']!.seq, 6);
  const ok = await run(barrier, ['verify', '--checkpoint', file]);
  assert.equal(ok.failed, false, ok.out);
  await barrier.delete(eventPath('n1', 6));
  await barrier.putJSON(headPath('n1'), { seq: 5, hash: (await barrier.getJSON<{ hash: string }>(eventPath('n1', 5)))!.value.hash, updatedAt: '' });
  const bad = await run(barrier, ['verify', '--checkpoint', file]);
  assert.equal(bad.failed, true);
  assert.match(bad.out, /truncated: node n1 seq 6: seq 6, the chain head in the checkpoint of .* is no longer in the store/);
  // a store that does not verify (here: its last digest names seq 6) gets no checkpoint
  const r2 = await run(barrier, ['checkpoint']);
  assert.equal(r2.failed, true);
  assert.match(r2.out, /audit verify: FAILED/);
});

test('audit verify reports its progress (every page of batches here; once a second by default, on a terminal)', async () => {
  const { barrier } = await testBarrier();
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  for (let i = 1; i <= 250; i++) await log.append(sampleEvent(i)); // one batch each: 3 pages of 100
  await log.close();
  const lines: string[] = [];
  let out = '';
  const program = new Command().exitOverride();
  registerAuditCommands(program, async () => ({ barrier }), { out: { write: (s: string) => (out += s) }, fail: () => {}, progress: (l) => lines.push(l), progressEveryMs: 0 });
  await program.parseAsync(['node', 'rekey', 'audit', 'verify']);
  assert.match(out, /audit verify: OK/);
  assert.deepEqual(lines, ['n1: 100 of ~250 events read\n', 'n1: 200 of ~250 events read\n', 'n1: 250 of ~250 events read\n']);
});
