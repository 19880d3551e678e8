import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tarEntry, TAR_END } from './backup.ts';

test('tarEntry: GNU tar reads the member (name, size, content), also after another archive (--ignore-zeros)', () => {
  const label = Buffer.from('START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nLABEL: rekey snapshot\n');
  const one = Buffer.concat([tarEntry('./backup_label', label), TAR_END]);
  const listed = spawnSync('tar', ['-t', '-v', '-f', '-'], { input: one, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, /^-rw------- 0\/0 +84 .* \.\/backup_label\n$/);
  const two = Buffer.concat([tarEntry('./a', Buffer.from('first')), TAR_END, tarEntry('./backup_label', label), TAR_END]);
  const out = spawnSync('tar', ['-x', '-O', '--ignore-zeros', '-f', '-', './backup_label'], { input: two });
  assert.equal(out.status, 0, String(out.stderr));
  assert.ok(out.stdout.equals(label));
  // without --ignore-zeros tar stops at the first archive's end: why restores pass it
  assert.equal(spawnSync('tar', ['-t', '-f', '-'], { input: two, encoding: 'utf8' }).stdout, './a\n');
});
