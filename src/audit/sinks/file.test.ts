import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainedRecord, chainOne, EMPTY_HEAD } from '../chain.ts';
import { sampleEvent } from '../testing.ts';
import { FileSink, listFileSet, rolledPath } from './file.ts';

function records(from: number, to: number): ChainedRecord[] {
  let head = EMPTY_HEAD;
  const all: ChainedRecord[] = [];
  for (let i = 1; i <= to; i++) {
    const c = chainOne('n1', head, sampleEvent(i));
    head = { seq: c.record.seq, hash: c.record.hash };
    if (i >= from) all.push(c);
  }
  return all;
}

function batch(cs: ChainedRecord[]) {
  return { node: 'n1', records: cs.map((c) => c.record), lines: cs.map((c) => c.line) };
}

test('rolled file names: audit.jsonl -> audit.1.jsonl; no extension -> audit.1', () => {
  assert.equal(rolledPath('/x/audit.jsonl', 1), '/x/audit.1.jsonl');
  assert.equal(rolledPath('/x/audit', 2), '/x/audit.2');
});

test('one batch is one append of whole lines; rollover happens between batches', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-file-'));
  const path = join(dir, 'audit.jsonl');
  const sink = new FileSink({ path, maxBytes: 3000 });
  const rs = records(1, 12);
  for (let i = 0; i < 12; i += 3) await sink.write(batch(rs.slice(i, i + 3)));
  await sink.close();
  const files = await listFileSet(path);
  assert.ok(files.length >= 2, files.join(','));
  const seqs = files.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { seq: number }).seq));
  assert.deepEqual(seqs, Array.from({ length: 12 }, (_, i) => i + 1), 'oldest file first, nothing lost or repeated');
  for (const f of files.slice(0, -1)) {
    const n = readFileSync(f, 'utf8').trim().split('\n').length;
    assert.equal(n % 3, 0, 'a batch never spans two files');
  }
});

test('maxFiles keeps only that many rolled files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-file-'));
  const path = join(dir, 'audit.jsonl');
  const sink = new FileSink({ path, maxBytes: 1, maxFiles: 2 });
  for (const r of records(1, 5)) await sink.write(batch([r]));
  await sink.close();
  assert.deepEqual(readdirSync(dir).sort(), ['audit.1.jsonl', 'audit.2.jsonl']);
  assert.equal((JSON.parse(readFileSync(join(dir, 'audit.1.jsonl'), 'utf8')) as { seq: number }).seq, 5);
});

test('recover returns the last record of the node, cuts a torn last line, and looks into audit.1 when the current file is empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-file-'));
  const path = join(dir, 'audit.jsonl');
  assert.equal(await new FileSink({ path }).recover('n1'), null, 'nothing yet');
  const rs = records(1, 3);
  const sink = new FileSink({ path });
  await sink.write(batch(rs));
  await sink.close();
  const size = statSync(path).size;
  appendFileSync(path, '{"node":"n1","seq":4,"prevHa'); // a crash mid-write
  const s2 = new FileSink({ path });
  assert.deepEqual(await s2.recover('n1'), { seq: 3, hash: rs[2]!.record.hash });
  assert.equal(statSync(path).size, size, 'the torn line was cut');
  assert.equal(await s2.recover('other-node'), null);
  // a rollover leaves an empty current file: the head is in audit.1.jsonl
  const s3 = new FileSink({ path, maxBytes: 1 });
  const [r4] = records(4, 4);
  await s3.write(batch([r4!]));
  await s3.close();
  assert.equal(existsSync(path), false);
  assert.deepEqual(await new FileSink({ path }).recover('n1'), { seq: 4, hash: r4!.record.hash });
});

test('writing into a directory that does not exist fails and creates nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-file-'));
  const sink = new FileSink({ path: join(dir, 'missing', 'audit.jsonl') });
  await assert.rejects(sink.write(batch(records(1, 1))), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(dir), []);
});

test("sync: 'none' still acknowledges only written lines and counts as durable (survives a crash of rekey)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-file-'));
  const path = join(dir, 'audit.jsonl');
  const sink = new FileSink({ path, sync: 'none' });
  assert.equal(sink.durable, true);
  const rs = records(1, 2);
  await sink.write(batch(rs));
  assert.equal(readFileSync(path, 'utf8'), rs.map((r) => r.line).join('\n') + '\n');
  await sink.close();
});

test('audit files are created readable by their owner only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-file-'));
  const path = join(dir, 'audit.jsonl');
  const sink = new FileSink({ path });
  await sink.write(batch(records(1, 1)));
  await sink.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
});
