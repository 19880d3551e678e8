import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDBInstanceReadReplica } from './create-db-instance-read-replica.ts';
import { parseForm } from '../form.ts';
import { toWireInstance } from '../wire.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

const source = { id: 'src', engine: 'postgres' as const, instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', manageMasterUserPassword: false, masterUserPassword: 'Passw0rd!', storageEncrypted: true, kmsKeyId: 'key-a', deletionProtection: false, tags: [] };
const form = (extra: Record<string, string> = {}) => parseForm(new URLSearchParams({ DBInstanceIdentifier: 'My-Replica', SourceDBInstanceIdentifier: 'SRC', ...extra }).toString());

test('decode: identifiers lower-cased, the source by identifier or ARN, KmsKeyId kept, tags', () => {
  const r = createDBInstanceReadReplica.decode(form({ KmsKeyId: 'alias/b', 'Tags.Tag.1.Key': 'k', 'Tags.Tag.1.Value': 'v', DBInstanceClass: 'db.t3.small', Port: '15999' }));
  assert.deepEqual(r, {
    DBInstanceIdentifier: 'my-replica', SourceDBInstanceIdentifier: 'src', DeletionProtection: false, Tags: [{ Key: 'k', Value: 'v' }],
    DBInstanceClass: 'db.t3.small', Port: 15999, KmsKeyId: 'alias/b',
  });
  assert.equal(createDBInstanceReadReplica.decode(form({ SourceDBInstanceIdentifier: 'arn:aws:rds:us-east-1:111122223333:db:Src' })).SourceDBInstanceIdentifier, 'src');
  assert.equal(createDBInstanceReadReplica.resource(r, testEnv(new InMemoryDbServiceForTests())), 'arn:aws:rds:us-east-1:111122223333:db:my-replica');
});

test('decode: what rekey refuses, with the error RDS would use', () => {
  const refused = (f: Record<string, string>, name: string, message: string) =>
    assert.throws(() => createDBInstanceReadReplica.decode(parseForm(new URLSearchParams(f).toString())), (e: Error) => e.name === name && e.message === message);
  refused({ DBInstanceIdentifier: 'r' }, 'MissingParameter', 'The request must contain the parameter SourceDBInstanceIdentifier');
  refused({ SourceDBInstanceIdentifier: 's' }, 'MissingParameter', 'The request must contain the parameter DBInstanceIdentifier');
  refused({ DBInstanceIdentifier: 'r', SourceDBInstanceIdentifier: 's', SourceRegion: 'us-west-2' }, 'InvalidParameterCombination', 'rekey makes read replicas in its own region only (SourceRegion and PreSignedUrl are not supported).');
  refused({ DBInstanceIdentifier: 'r', SourceDBClusterIdentifier: 'c' }, 'InvalidParameterCombination', 'rekey does not support DB clusters (SourceDBClusterIdentifier).');
  refused({ DBInstanceIdentifier: 'r', SourceDBInstanceIdentifier: 's', MultiAZ: 'true' }, 'InvalidParameterValue', 'rekey does not run Multi-AZ instances: MultiAZ must be false.');
  refused({ DBInstanceIdentifier: 'r--x', SourceDBInstanceIdentifier: 's' }, 'InvalidParameterValue', 'The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.');
});

test('run: the gate before the replica exists; source and replica name each other; state faults', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true, usableKeys: ['key-a', 'key-b'] });
  await db.create(source, testContext());
  const gate = { calls: [] as unknown[], onGate: async () => {
    await assert.rejects(db.get('my-replica'), (e: Error) => e.name === 'DBInstanceNotFound');
  } };
  const out = await createDBInstanceReadReplica.run(createDBInstanceReadReplica.decode(form({ KmsKeyId: 'key-b' })), testEnv(db), testContext(gate));
  assert.equal(gate.calls.length, 1);
  const w = out.DBInstance as ReturnType<typeof toWireInstance>;
  assert.equal(w.ReadReplicaSourceDBInstanceIdentifier, 'src');
  assert.equal(w.KmsKeyId, 'arn:aws:kms:us-east-1:000000000000:key/key-b', 'its own key, not the source\'s');
  assert.deepEqual(w.StatusInfos, [{ StatusType: 'read replication', Normal: true, Status: 'replicating' }]);
  const src = toWireInstance(await db.get('src'));
  assert.deepEqual(src.ReadReplicaDBInstanceIdentifiers, ['my-replica']);

  const run = (f: Record<string, string>) => createDBInstanceReadReplica.run(createDBInstanceReadReplica.decode(form(f)), testEnv(db), testContext());
  await assert.rejects(run({}), { name: 'DBInstanceAlreadyExists', message: 'DB instance already exists' });
  await assert.rejects(run({ DBInstanceIdentifier: 'x', SourceDBInstanceIdentifier: 'nope' }), { name: 'DBInstanceNotFound', message: 'DBInstance nope not found.' });
  await assert.rejects(run({ DBInstanceIdentifier: 'x', KmsKeyId: 'key-z' }), { name: 'KMSKeyNotAccessibleFault', message: 'The specified KMS key [key-z] does not exist, is not enabled or you do not have permissions to access it.' });
  await assert.rejects(run({ DBInstanceIdentifier: 'x', SourceDBInstanceIdentifier: 'my-replica' }), { name: 'InvalidParameterCombination', message: 'DB instance my-replica is itself a read replica; rekey does not make cascading read replicas.' });
  await assert.rejects(createDBInstanceReadReplica.run(createDBInstanceReadReplica.decode(form({ DBInstanceIdentifier: 'y' })), testEnv(db), testContext({ calls: [], refuse: true })), /audit refused/);
  await assert.rejects(db.get('y'), (e: Error) => e.name === 'DBInstanceNotFound');
});
