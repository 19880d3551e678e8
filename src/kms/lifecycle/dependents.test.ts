import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arnOf, DAY, MISSING_KEY_ID, rejects, T0 } from '../testing.ts';
import { DEPENDENTS_PREFIX } from './paths.ts';
import { lifecycleHarness } from './testing.ts';

const SECRET = (n: string) => `arn:aws:secretsmanager:us-east-1:111122223333:secret:${n}-AbCdEf`;

test('register, list, update and unregister dependents; the key record counts them', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/app', TargetKeyId: md.KeyId });
  const d1 = await h.kms.dependents.register('alias/app', { type: 'secret', arn: SECRET('db'), name: 'db' });
  assert.deepEqual(d1, { type: 'secret', arn: SECRET('db'), name: 'db', keyId: md.KeyId, registeredAt: T0 });
  h.advance(1000);
  await h.kms.dependents.register(md.Arn, { type: 'secret', arn: SECRET('api'), name: 'api' });
  await h.kms.dependents.register(md.KeyId, { type: 'secret', arn: SECRET('db'), name: 'db-renamed' }); // same ARN: an update
  assert.equal((await h.record(md.KeyId)).dependentCount, 2);
  const listed = await h.kms.dependents.list(md.KeyId);
  assert.deepEqual(listed.dependents.map((d) => [d.name, d.registeredAt]), [['db-renamed', T0], ['api', T0 + 1000]]);
  assert.equal(await h.kms.dependents.unregister(md.KeyId, SECRET('api')), true);
  assert.equal(await h.kms.dependents.unregister(md.KeyId, SECRET('api')), false);
  assert.equal((await h.record(md.KeyId)).dependentCount, 1);
  await rejects(h.kms.dependents.register(MISSING_KEY_ID, { type: 'secret', arn: SECRET('x'), name: 'x' }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.kms.dependents.register(md.KeyId, { type: 'Secret!', arn: SECRET('x'), name: 'x' }), 'ValidationException', 'dependent type must be 1 to 32 lowercase letters, digits or dashes (for example "secret")');
});

test('DisableKey and ScheduleKeyDeletion refuse a key with dependents, naming them; unregistered, they work', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.kms.dependents.register(md.KeyId, { type: 'secret', arn: SECRET('db'), name: 'db' });
  h.advance(1); // listed in registration order
  await h.kms.dependents.register(md.KeyId, { type: 'secret', arn: SECRET('api'), name: 'api' });
  const tail = (route: string) => `Move them to another key first, or have an administrator override with POST /v1/kms/keys/${md.KeyId}/${route} {"force": true}.`;
  await rejects(h.call('DisableKey', { KeyId: md.KeyId }), 'KMSInvalidStateException',
    `${md.Arn} cannot be disabled: 2 rekey resources use it: secret db (${SECRET('db')}), secret api (${SECRET('api')}). ${tail('disable')}`);
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: md.Arn, PendingWindowInDays: 7 }), 'KMSInvalidStateException',
    `${md.Arn} cannot be scheduled for deletion: 2 rekey resources use it: secret db (${SECRET('db')}), secret api (${SECRET('api')}). ${tail('schedule-deletion')}`);
  assert.equal((await h.record(md.KeyId)).state, 'Enabled');
  await h.kms.dependents.unregister(md.KeyId, SECRET('db'));
  await rejects(h.call('DisableKey', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} cannot be disabled: 1 rekey resource uses it: secret api (${SECRET('api')}). ${tail('disable')}`);
  await h.kms.dependents.unregister(md.KeyId, SECRET('api'));
  await h.call('DisableKey', { KeyId: md.KeyId });
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
  // Nothing new may depend on a key pending deletion.
  await rejects(h.kms.dependents.register(md.KeyId, { type: 'secret', arn: SECRET('late'), name: 'late' }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});

test('a registration that lands between the listing and the write still stops DisableKey (the count is checked under the CAS)', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  const orig = h.kms.store.readKey.bind(h.kms.store);
  let raced = false;
  h.kms.store.readKey = (async (keyId: string) => {
    const r = await orig(keyId);
    if (!raced && new Error().stack?.includes('disable-key.ts')) {
      raced = true;
      await h.kms.dependents.register(md.KeyId, { type: 'secret', arn: SECRET('db'), name: 'db' });
    }
    return r;
  }) as typeof h.kms.store.readKey;
  await rejects(h.call('DisableKey', { KeyId: md.KeyId }), 'KMSInvalidStateException',
    `${md.Arn} cannot be disabled: 1 rekey resource uses it: run "rekey kms dependents ${md.KeyId}" to list them. Move them to another key first, or have an administrator override with POST /v1/kms/keys/${md.KeyId}/disable {"force": true}.`);
  assert.equal(raced, true);
  assert.equal((await h.record(md.KeyId)).state, 'Enabled');
});

test('an administrator can force deletion and disabling; the deleted key takes its registrations with it', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  const other = await h.createKey();
  await h.kms.dependents.register(md.KeyId, { type: 'secret', arn: SECRET('db'), name: 'db' });
  await h.kms.dependents.register(other.KeyId, { type: 'secret', arn: SECRET('keep'), name: 'keep' });
  const admin = h.kms.lifecycle.admin();
  await rejects(admin.disableKey(md.KeyId), 'KMSInvalidStateException', /cannot be disabled: 1 rekey resource uses it: secret db/);
  const dis = await admin.disableKey(md.KeyId, true);
  assert.deepEqual([dis.keyState, dis.overriddenDependents.map((d) => d.name)], ['Disabled', ['db']]);
  const del = await admin.scheduleDeletion(md.KeyId, 7, true);
  assert.deepEqual({ ...del, overriddenDependents: del.overriddenDependents.length }, {
    keyId: md.KeyId, keyArn: md.Arn, keyState: 'PendingDeletion', deletionDate: new Date(T0 + 7 * DAY).toISOString(), pendingWindowInDays: 7, overriddenDependents: 1,
  });
  await rejects(admin.scheduleDeletion(md.KeyId, 7, true), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
  await rejects(admin.scheduleDeletion(other.KeyId, 6), 'ValidationException', 'PendingWindowInDays must be between 7 and 30');
  assert.deepEqual((await admin.dependents(md.KeyId)).dependents.map((d) => d.name), ['db']);
  await h.at(7 * DAY);
  assert.deepEqual((await h.barrier.list(DEPENDENTS_PREFIX)).length, 1); // only the other key's
  await rejects(admin.dependents(md.KeyId), 'NotFoundException', `Key '${md.Arn}' does not exist`);
  assert.equal(await h.kms.dependents.unregister(md.Arn, SECRET('db')), false); // gone with the key
});
