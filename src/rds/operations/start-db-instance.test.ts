import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDBInstance } from './start-db-instance.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('StartDBInstance: the DbService decides whether the state allows it', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true });
  await db.create({ id: 'a', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', manageMasterUserPassword: true, storageEncrypted: false, deletionProtection: false, tags: [] }, testContext());
  const r = startDBInstance.decode(parseForm('DBInstanceIdentifier=a'));
  await assert.rejects(startDBInstance.run(r, testEnv(db), testContext()), (e: Error) => e.name === 'InvalidDBInstanceState' && e.message === 'Instance a is not stopped, it cannot be started.');
  await db.stop('a', testContext());
  assert.equal(((await startDBInstance.run(r, testEnv(db), testContext())).DBInstance as { DBInstanceStatus: string }).DBInstanceStatus, 'available');
  assert.throws(() => startDBInstance.decode(parseForm('DBInstanceIdentifier=a--b')), (e: Error) => e.name === 'InvalidParameterValue');
});
