import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stopDBInstance } from './stop-db-instance.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('StopDBInstance: decode, resource, run; a snapshot on stop is refused', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true });
  await db.create({ id: 'a', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', manageMasterUserPassword: true, storageEncrypted: false, deletionProtection: false, tags: [] }, testContext());
  const r = stopDBInstance.decode(parseForm('DBInstanceIdentifier=A'));
  assert.equal(stopDBInstance.resource(r, testEnv(db)), 'arn:aws:rds:us-east-1:111122223333:db:a');
  const gate = { calls: [] as unknown[] };
  assert.equal(((await stopDBInstance.run(r, testEnv(db), testContext(gate))).DBInstance as { DBInstanceStatus: string }).DBInstanceStatus, 'stopped');
  assert.equal(gate.calls.length, 1);
  assert.throws(() => stopDBInstance.decode(parseForm('DBInstanceIdentifier=a&DBSnapshotIdentifier=s')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'rekey does not support DBSnapshotIdentifier on StopDBInstance: take the snapshot with CreateDBSnapshot before stopping.');
});
