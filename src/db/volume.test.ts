// Real gocryptfs (installed on development and CI machines by .ci/run): a volume made with one key
// hides what is written through its mount, mounts again with the same key, and refuses another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../crypto/index.ts';
import { findVolumeTools, initVolume, isMounted, mountVolume, unmountVolume, volumePaths } from './volume.ts';
import { serverUser } from './os-user.ts';

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

/** A stand-in gocryptfs that only answers -version (findVolumeTools' version gate). */
function fakeGocryptfs(dir: string, banner: string): string {
  const bin = join(dir, `gocryptfs-${banner.replace(/\W+/g, '_')}`);
  writeFileSync(bin, `#!/bin/sh\necho '${banner}'\n`);
  chmodSync(bin, 0o755);
  return bin;
}

test('findVolumeTools: as root, a gocryptfs older than 2.5.2 is refused with the reason; not as root, or new enough, it is used', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-gcv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (typeof findVolumeTools({}, false) === 'string') assert.fail(`gocryptfs and FUSE are needed: ${String(findVolumeTools({}, false))}`);
  const old = fakeGocryptfs(dir, 'gocryptfs 2.3; go-fuse 2.1.0+git20220822.58a7e14; 2023-04-09 go1.19.8 linux/amd64');
  const refused = findVolumeTools({ REKEY_GOCRYPTFS: old }, true);
  assert.equal(typeof refused, 'string');
  assert.match(String(refused), /needs gocryptfs >= 2\.5\.2/);
  assert.match(String(refused), /is 2\.3\.0/);
  assert.match(String(refused), /gocryptfs#893/);
  assert.match(String(refused), /REKEY_GOCRYPTFS/);
  const notRoot = findVolumeTools({ REKEY_GOCRYPTFS: old }, false);
  assert.equal(typeof notRoot === 'object' && notRoot.gocryptfs, old, 'without -allow_other the version does not matter');
  for (const banner of ['gocryptfs 2.5.2; go-fuse 2.5.1', 'gocryptfs 2.6.1; go-fuse 2.8.0; 2025-09-26 go1.24.4 linux/amd64', 'gocryptfs v3.0.0-1-gabc']) {
    const bin = fakeGocryptfs(dir, banner);
    const got = findVolumeTools({ REKEY_GOCRYPTFS: bin }, true);
    assert.equal(typeof got === 'object' && got.gocryptfs, bin, banner);
  }
  const odd = findVolumeTools({ REKEY_GOCRYPTFS: fakeGocryptfs(dir, 'something else') }, true);
  assert.match(String(odd), /of an unknown version/);
  assert.match(String(findVolumeTools({ REKEY_GOCRYPTFS: join(dir, 'absent') }, true)), /REKEY_GOCRYPTFS=.*does not exist/);
});

// The defect the version gate is for, reproduced for real: as root with -allow_other, 8 concurrent
// writers running as the database server's OS user each make 150 directories with a file inside.
// With Debian 12's gocryptfs 2.3 this lost 552 of 1,200 creations to EPERM on this machine.
test('gocryptfs as root with -allow_other: concurrent file creation by the server user never fails', { skip: process.getuid?.() !== 0 ? 'needs root (the -allow_other path is only taken by rekey running as root)' : false }, async (t) => {
  const tools = findVolumeTools();
  assert.equal(typeof tools, 'object', String(tools));
  const user = serverUser('postgres');
  assert.equal(typeof user, 'object', String(user));
  if (typeof tools === 'string' || typeof user === 'string') return;
  const root = mkdtempSync(join(tmpdir(), 'rekey-vol-ao-'));
  const paths = volumePaths(root);
  t.after(async () => {
    await unmountVolume(tools, paths).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  });
  chmodSync(root, 0o755);
  const key = randomBytes(32);
  await initVolume(tools, paths, Buffer.from(key), join(root, 'gocryptfs.log'));
  await mountVolume(tools, paths, key, join(root, 'gocryptfs.log'), true);
  chownSync(paths.mountDir, user.uid!, user.gid!); // as src/db/runtime.ts gives the mount to the server user
  const work = join(paths.mountDir, 'w');
  mkdirSync(work);
  chownSync(work, user.uid!, user.gid!);
  const script = `const fs = require('node:fs/promises'); const dir = process.argv[1]; let fails = 0, first = '';
    Promise.all(Array.from({ length: 8 }, async (_, w) => { for (let i = 0; i < 150; i++) { try { await fs.mkdir(dir + '/d' + w + '-' + i); await fs.writeFile(dir + '/d' + w + '-' + i + '/f', 'x'); } catch (e) { fails++; first ||= e.code; } } }))
      .then(() => console.log(JSON.stringify({ fails, first })));`;
  const r = spawnSync(process.execPath, ['-e', script, work], { uid: user.uid!, gid: user.gid!, encoding: 'utf8', cwd: '/', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { fails: 0, first: '' });
  assert.equal(readdirSync(work).length, 1200);
});
