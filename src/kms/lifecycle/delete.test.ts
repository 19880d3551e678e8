import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasArnOf, arnOf, b64, DAY, rejects, T0 } from '../testing.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, USAGE_PREFIX } from './paths.ts';
import { lifecycleHarness } from './testing.ts';

const iso = (ms: number) => new Date(ms).toISOString();

test('at DeletionDate the key, its material, aliases and index entries are gone; NotFoundException afterwards', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  const keep = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/doomed', TargetKeyId: md.KeyId });
  await h.call('CreateAlias', { AliasName: 'alias/doomed-too', TargetKeyId: md.KeyId });
  await h.call('CreateAlias', { AliasName: 'alias/kept', TargetKeyId: keep.KeyId });
  await h.call('EnableKeyRotation', { KeyId: md.KeyId });
  await h.kms.dependents.register(md.KeyId, { type: 'secret', arn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:x-AbCdEf', name: 'x' });
  await h.kms.lifecycle.admin().setUsageBudget(md.KeyId, { maxEncryptions: 1000 });
  await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('hi') });
  await h.kms.lifecycle.usage.flush();
  assert.equal((await h.barrier.list(USAGE_PREFIX)).length, 1);
  const r = await h.kms.lifecycle.admin().scheduleDeletion(md.KeyId, 7, true);
  assert.equal(r.deletionDate, iso(T0 + 7 * DAY));
  assert.deepEqual(await h.barrier.list(DELETION_DUE_PREFIX), [`${DELETION_DUE_PREFIX}${iso(T0 + 7 * DAY)}/${md.KeyId}`]);
  await h.at(7 * DAY - 1);
  assert.equal((await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState, 'PendingDeletion');
  await h.at(1);
  // AWS KMS: NotFoundException for every identifier form once the key is deleted.
  const gone = `Key '${md.Arn}' does not exist`;
  await rejects(h.call('DescribeKey', { KeyId: md.KeyId }), 'NotFoundException', gone);
  await rejects(h.call('GetKeyRotationStatus', { KeyId: md.Arn }), 'NotFoundException', gone);
  await rejects(h.call('DescribeKey', { KeyId: 'alias/doomed' }), 'NotFoundException', `Alias ${aliasArnOf('alias/doomed')} is not found.`);
  const aliases = (await h.call('ListAliases', {}))['Aliases'] as { AliasName: string }[];
  assert.deepEqual(aliases.map((a) => a.AliasName).filter((n) => !n.startsWith('alias/aws/')), ['alias/kept']);
  // Nothing of the key is left in storage.
  const left = (await h.backend.list('kms/')).filter((k) => k.includes(md.KeyId) || k.includes('doomed'));
  assert.deepEqual(left, []);
  assert.deepEqual(await h.barrier.list(ROTATION_DUE_PREFIX), []);
  const [job] = await h.jobs('kms.delete');
  assert.equal(job!.state, 'succeeded');
  assert.deepEqual(job!.data, { keyId: md.KeyId, deletionDate: iso(T0 + 7 * DAY), outcome: 'deleted', keyArn: md.Arn, aliases: ['alias/doomed', 'alias/doomed-too'], at: T0 + 7 * DAY });
  assert.deepEqual(h.events, [{ type: 'DeleteKey', keyArn: md.Arn, keyId: md.KeyId, at: new Date(T0 + 7 * DAY) }]);
  // The other key is untouched.
  assert.equal((await h.call('DescribeKey', { KeyId: 'alias/kept' }) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId, keep.KeyId);
  assert.deepEqual(h.errors, []);
});

test('CancelKeyDeletion before the scan: no job; after the job was created: the job changes nothing', async () => {
  const h = await lifecycleHarness();
  const a = await h.createKey();
  const b = await h.createKey();
  await h.call('ScheduleKeyDeletion', { KeyId: a.KeyId, PendingWindowInDays: 7 });
  await h.call('ScheduleKeyDeletion', { KeyId: b.KeyId, PendingWindowInDays: 7 });
  await h.call('CancelKeyDeletion', { KeyId: a.KeyId });
  h.advance(7 * DAY);
  await h.engine.scheduler.scanOnce(new Date(h.now())); // b's job exists now
  await h.call('CancelKeyDeletion', { KeyId: b.KeyId });
  await h.engine.worker.runDueOnce(new Date(h.now()));
  const jobs = await h.jobs('kms.delete');
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.state, 'succeeded');
  assert.deepEqual(jobs[0]!.data, { keyId: b.KeyId, deletionDate: iso(T0 + 7 * DAY), outcome: 'skipped', reason: 'the deletion was cancelled' });
  for (const k of [a, b]) assert.equal((await h.call('DescribeKey', { KeyId: k.KeyId }) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState, 'Disabled');
  assert.deepEqual(h.events, []);
  // Scheduled again: a new DeletionDate, a new job, and this time the key goes.
  await h.call('ScheduleKeyDeletion', { KeyId: b.KeyId, PendingWindowInDays: 7 });
  await h.at(7 * DAY);
  await rejects(h.call('DescribeKey', { KeyId: b.KeyId }), 'NotFoundException', `Key '${arnOf(b.KeyId)}' does not exist`);
  assert.deepEqual((await h.jobs('kms.delete')).map((j) => j.dedupeKey), [`kms.delete/${b.KeyId}/${iso(T0 + 7 * DAY)}`, `kms.delete/${b.KeyId}/${iso(T0 + 14 * DAY)}`]);
});

test('ciphertexts of a deleted key no longer decrypt (InvalidCiphertextException, no oracle)', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  const ct = (await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('secret') }))['CiphertextBlob'];
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
  await h.at(7 * DAY);
  await rejects(h.call('Decrypt', { CiphertextBlob: ct }), 'InvalidCiphertextException', '');
});
