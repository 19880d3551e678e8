import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TarPacker } from './tar.ts';

async function collect(pieces: AsyncIterable<Buffer> | Iterable<Buffer>, into: Buffer[]): Promise<void> {
  for await (const p of pieces) into.push(p);
}

test('TarPacker: GNU tar extracts the tree byte for byte (long names through pax, symlinks, empty files); pieces are exactly pieceBytes but the last', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rekey-tar-'));
  const out = mkdtempSync(join(tmpdir(), 'rekey-untar-'));
  t.after(() => { rmSync(root, { recursive: true, force: true }); rmSync(out, { recursive: true, force: true }); });
  mkdirSync(join(root, 'base/16384'), { recursive: true });
  mkdirSync(join(root, 'pg_wal/archive_status'), { recursive: true });
  const big = Buffer.alloc(3 * 4096 + 77);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
  writeFileSync(join(root, 'base/16384/16385'), big);
  writeFileSync(join(root, 'base/16384/empty'), '');
  writeFileSync(join(root, 'base/16384/block'), Buffer.alloc(512, 9));
  writeFileSync(join(root, 'pg_wal/000000010000000000000001'), 'wal');
  const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
  mkdirSync(join(root, longDir), { recursive: true });
  writeFileSync(join(root, longDir, 'f'.repeat(40)), 'long name');
  symlinkSync('/some/where/else', join(root, 'link'));

  const packer = new TarPacker(4096);
  const pieces: Buffer[] = [];
  await collect(packer.directory(root, (rel) => rel.startsWith('./pg_wal/')), pieces);
  await collect(packer.file(root, './pg_wal/000000010000000000000001'), pieces);
  await collect(packer.file(root, './gone'), pieces); // removed before its open: left out
  await collect(packer.buffer('./backup_label', Buffer.from('LABEL\n')), pieces);
  await collect(packer.end(), pieces);
  assert.ok(pieces.slice(0, -1).every((p) => p.length === 4096));
  assert.ok(pieces.at(-1)!.length <= 4096 && pieces.at(-1)!.length > 0);
  const archive = Buffer.concat(pieces);
  assert.equal(archive.length % 512, 0);

  const x = spawnSync('tar', ['-x', '-f', '-', '-C', out], { input: archive });
  assert.equal(x.status, 0, String(x.stderr));
  assert.ok(readFileSync(join(out, 'base/16384/16385')).equals(big));
  assert.equal(readFileSync(join(out, 'base/16384/empty')).length, 0);
  assert.ok(readFileSync(join(out, 'base/16384/block')).equals(Buffer.alloc(512, 9)));
  assert.equal(readFileSync(join(out, longDir, 'f'.repeat(40)), 'utf8'), 'long name');
  assert.equal(readFileSync(join(out, 'pg_wal/000000010000000000000001'), 'utf8'), 'wal');
  assert.equal(readFileSync(join(out, 'backup_label'), 'utf8'), 'LABEL\n');
  const listed = spawnSync('tar', ['-t', '-v', '-f', '-'], { input: archive, encoding: 'utf8' }).stdout;
  assert.match(listed, /\.\/link -> \/some\/where\/else/);
  assert.match(listed, / \.\/pg_wal\/\n/, 'excluded contents keep their directory');
  assert.doesNotMatch(listed, /archive_status/);
  assert.doesNotMatch(listed, /gone|PaxHeaders/);
});

test('TarPacker: a file that shrinks while read is padded with zeros to the size seen at open (WAL replay repairs it)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rekey-tar-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'rel'), Buffer.alloc(10_000, 5));
  const packer = new TarPacker(4096);
  const pieces: Buffer[] = [];
  let cut = false;
  for await (const p of packer.file(root, './rel')) {
    pieces.push(p);
    if (!cut) { truncateSync(join(root, 'rel'), 100); cut = true; }
  }
  await collect(packer.end(), pieces);
  const got = spawnSync('tar', ['-x', '-O', '-f', '-'], { input: Buffer.concat(pieces) }).stdout as Buffer;
  assert.equal(got.length, 10_000);
  assert.ok(got.subarray(0, 3584).equals(Buffer.alloc(3584, 5)), 'what was read before the cut');
  assert.ok(got.subarray(got.length - 100).equals(Buffer.alloc(100, 0)), 'zeros for what was gone');
});
