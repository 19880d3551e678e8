import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restoreDBInstanceFromDBSnapshot } from './restore-db-instance-from-db-snapshot.ts';
import { parseForm } from '../form.ts';
import { testContext, testEnv } from '../testing.ts';
import { dbWithInstance } from './snapshot-test-helpers.ts';

test('RestoreDBInstanceFromDBSnapshot: decode, resource is the new instance, the instance keeps the snapshot\'s key', async () => {
  const db = await dbWithInstance();
  await db.createSnapshot({ id: 's1', instanceId: 'app', tags: [] }, testContext());
  const r = restoreDBInstanceFromDBSnapshot.decode(parseForm('DBInstanceIdentifier=New-One&DBSnapshotIdentifier=S1&DBInstanceClass=db.t3.small&DeletionProtection=true'));
  assert.deepEqual(r, { DBInstanceIdentifier: 'new-one', DBSnapshotIdentifier: 's1', DBInstanceClass: 'db.t3.small', DeletionProtection: true, Tags: [] });
  assert.equal(restoreDBInstanceFromDBSnapshot.resource(r, testEnv(db)), 'arn:aws:rds:us-east-1:111122223333:db:new-one');
  const i = (await restoreDBInstanceFromDBSnapshot.run(r, testEnv(db), testContext())).DBInstance as Record<string, unknown>;
  assert.equal(i.DBInstanceIdentifier, 'new-one');
  assert.equal(i.StorageEncrypted, true);
  assert.equal(i.KmsKeyId, 'arn:aws:kms:us-east-1:111122223333:key/key-a');
  assert.equal(i.DeletionProtection, true);
  await assert.rejects(restoreDBInstanceFromDBSnapshot.run(r, testEnv(db), testContext()), (e: Error) => e.name === 'DBInstanceAlreadyExists' && e.message === 'DB instance already exists');
  const ghost = restoreDBInstanceFromDBSnapshot.decode(parseForm('DBInstanceIdentifier=x&DBSnapshotIdentifier=ghost'));
  await assert.rejects(restoreDBInstanceFromDBSnapshot.run(ghost, testEnv(db), testContext()), (e: Error) => e.name === 'DBSnapshotNotFound' && e.message === 'DBSnapshot ghost not found.');
  assert.throws(() => restoreDBInstanceFromDBSnapshot.decode(parseForm('DBInstanceIdentifier=x&DBSnapshotIdentifier=s1&MultiAZ=true')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'rekey does not run Multi-AZ instances: MultiAZ must be false.');
  assert.throws(() => restoreDBInstanceFromDBSnapshot.decode(parseForm('DBInstanceIdentifier=x&DBClusterSnapshotIdentifier=c')),
    (e: Error) => e.name === 'InvalidParameterCombination' && e.message === 'rekey has no DB clusters: restore from a DBSnapshotIdentifier.');
});
