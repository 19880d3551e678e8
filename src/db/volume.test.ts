// Real gocryptfs (installed on development and CI machines by .ci/run): a volume made with one key
// hides what is written through its mount, mounts again with the same key, and refuses another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../crypto/index.ts';
import { findVolumeTools, initVolume, isMounted, mountVolume, unmountVolume, volumePaths } from './volume.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test('gocryptfs volume: key from stdin, plaintext only through the mount, wrong key refused', async (t) => {
  const tools = findVolumeTools();
  assert.equal(typeof tools, 'object', `gocryptfs and FUSE are needed: ${String(tools)}`);
  if (typeof tools === 'string') return;
  const root = mkdtempSync(join(tmpdir(), 'rekey-vol-'));
  const paths = volumePaths(root);
  const log = join(root, 'gocryptfs.log');
  t.after(async () => {
    await unmountVolume(tools, paths).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });
  const key = randomBytes(32);
  await initVolume(tools, paths, Buffer.from(key), log);
  await mountVolume(tools, paths, Buffer.from(key), log, false);
  assert.equal(isMounted(paths.mountDir), true);
  await mountVolume(tools, paths, Buffer.from(key), log, false); // already mounted: no-op
  const canary = 'volume-canary-5d1e';
  writeFileSync(join(paths.mountDir, 'note.txt'), canary.repeat(100));
  await unmountVolume(tools, paths);
  assert.equal(isMounted(paths.mountDir), false);
  for (const f of filesUnder(paths.cipherDir)) assert.equal(readFileSync(f).includes(canary), false, f);
  assert.equal(readFileSync(log, 'utf8').includes(key.toString('hex')), false, 'the key is not in the log');

  const wrong = randomBytes(32);
  await assert.rejects(mountVolume(tools, paths, wrong, log, false), /exited with 12/); // gocryptfs: 12 = wrong password
  assert.equal(isMounted(paths.mountDir), false);
  await mountVolume(tools, paths, key, log, false);
  assert.equal(readFileSync(join(paths.mountDir, 'note.txt'), 'utf8'), canary.repeat(100));
});
