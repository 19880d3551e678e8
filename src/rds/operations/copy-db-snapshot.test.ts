import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyDBSnapshot } from './copy-db-snapshot.ts';
import { parseForm } from '../form.ts';
import { testContext, testEnv } from '../testing.ts';
import { dbWithInstance } from './snapshot-test-helpers.ts';

test('CopyDBSnapshot: same key by default, KmsKeyId re-encrypts (an unencrypted source becomes encrypted); cross-region refused', async () => {
  const db = await dbWithInstance({ encrypted: false, usableKeys: ['key-b'] });
  await db.createSnapshot({ id: 'plain', instanceId: 'app', tags: [{ key: 't', value: '1' }] }, testContext());
  const same = copyDBSnapshot.decode(parseForm('SourceDBSnapshotIdentifier=plain&TargetDBSnapshotIdentifier=Copy-1'));
  assert.deepEqual(same, { SourceDBSnapshotIdentifier: 'plain', TargetDBSnapshotIdentifier: 'copy-1', CopyTags: false, Tags: [] });
  assert.equal(copyDBSnapshot.resource(same, testEnv(db)), 'arn:aws:rds:us-east-1:111122223333:snapshot:copy-1');
  const c1 = (await copyDBSnapshot.run(same, testEnv(db), testContext())).DBSnapshot as Record<string, unknown>;
  assert.equal(c1.Encrypted, false);
  assert.equal(c1.SourceDBSnapshotIdentifier, 'arn:aws:rds:us-east-1:111122223333:snapshot:plain');
  assert.deepEqual(c1.TagList, []);
  const enc = copyDBSnapshot.decode(parseForm('SourceDBSnapshotIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A111122223333%3Asnapshot%3Aplain&TargetDBSnapshotIdentifier=copy-2&KmsKeyId=key-b&CopyTags=true'));
  const c2 = (await copyDBSnapshot.run(enc, testEnv(db), testContext())).DBSnapshot as Record<string, unknown>;
  assert.equal(c2.Encrypted, true);
  assert.equal(c2.KmsKeyId, 'arn:aws:kms:us-east-1:111122223333:key/key-b');
  assert.deepEqual(c2.TagList, [{ Key: 't', Value: '1' }]);
  const badKey = copyDBSnapshot.decode(parseForm('SourceDBSnapshotIdentifier=plain&TargetDBSnapshotIdentifier=copy-3&KmsKeyId=key-x'));
  await assert.rejects(copyDBSnapshot.run(badKey, testEnv(db), testContext()),
    (e: Error) => e.name === 'KMSKeyNotAccessibleFault' && e.message === 'The specified KMS key [key-x] does not exist, is not enabled or you do not have permissions to access it.');
  assert.throws(() => copyDBSnapshot.decode(parseForm('SourceDBSnapshotIdentifier=plain&TargetDBSnapshotIdentifier=x&SourceRegion=us-west-2')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'rekey copies snapshots within its region only: SourceRegion is not supported.');
  assert.throws(() => copyDBSnapshot.decode(parseForm('SourceDBSnapshotIdentifier=plain')),
    (e: Error) => e.name === 'MissingParameter' && e.message === 'The request must contain the parameter TargetDBSnapshotIdentifier');
});
