import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, killStrays } from './pg-server.ts';

test('killStrays: an initdb left running on the data directory (a crashed rekey) is killed; others are not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-strays-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'initdb');
  symlinkSync(process.execPath, fake); // argv[0] ends in "initdb"
  const dataDir = join(dir, 'pgdata');
  const keep = 'setTimeout(() => {}, 30000)';
  const stray = spawn(fake, ['-e', keep, '--', '-D', dataDir], { stdio: 'ignore' });
  const other = spawn(fake, ['-e', keep, '--', '-D', join(dir, 'other')], { stdio: 'ignore' });
  t.after(() => { other.kill('SIGKILL'); stray.kill('SIGKILL'); });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await killStrays(dataDir), 1);
  assert.equal(alive(stray.pid!), false);
  assert.equal(alive(other.pid!), true);
});
