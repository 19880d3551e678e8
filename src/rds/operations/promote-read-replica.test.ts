import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promoteReadReplica } from './promote-read-replica.ts';
import { parseForm } from '../form.ts';
import type { toWireInstance } from '../wire.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('PromoteReadReplica: decode, resource, run; the source forgets the replica; a non-replica is InvalidDBInstanceState', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true });
  await db.create({ id: 'src', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', manageMasterUserPassword: true, storageEncrypted: false, deletionProtection: false, tags: [] }, testContext());
  await db.createReadReplica({ id: 'rr', sourceId: 'src', deletionProtection: false, tags: [] }, testContext());
  const r = promoteReadReplica.decode(parseForm('DBInstanceIdentifier=RR&BackupRetentionPeriod=7'));
  assert.deepEqual(r, { DBInstanceIdentifier: 'rr' });
  assert.equal(promoteReadReplica.resource(r, testEnv(db)), 'arn:aws:rds:us-east-1:111122223333:db:rr');
  const gate = { calls: [] as unknown[] };
  const w = (await promoteReadReplica.run(r, testEnv(db), testContext(gate))).DBInstance as ReturnType<typeof toWireInstance>;
  assert.equal(gate.calls.length, 1);
  assert.equal(w.ReadReplicaSourceDBInstanceIdentifier, undefined);
  assert.equal(w.StatusInfos, undefined);
  assert.equal((await db.get('src')).readReplicaIds, undefined);
  await assert.rejects(promoteReadReplica.run(r, testEnv(db), testContext()), { name: 'InvalidDBInstanceState', message: 'DB Instance rr is not a read replica.' });
  await assert.rejects(promoteReadReplica.run(promoteReadReplica.decode(parseForm('DBInstanceIdentifier=none')), testEnv(db), testContext()), { name: 'DBInstanceNotFound' });
  assert.throws(() => promoteReadReplica.decode(parseForm('DBInstanceIdentifier=rr&BackupRetentionPeriod=36')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'Invalid value 36 for BackupRetentionPeriod. Must be between 0 and 35');
});
