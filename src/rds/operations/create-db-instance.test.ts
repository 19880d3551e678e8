import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDBInstance } from './create-db-instance.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

const form = (extra: Record<string, string> = {}) => parseForm(new URLSearchParams({
  DBInstanceIdentifier: 'My-DB', Engine: 'Postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: '20', MasterUsername: 'app', MasterUserPassword: 'Passw0rd!', ...extra,
}).toString());

test('decode: identifier lower-cased, engine normalized, defaults for the booleans, tags kept in order', () => {
  const r = createDBInstance.decode(form({ 'Tags.Tag.1.Key': 'a', 'Tags.Tag.1.Value': '1' }));
  assert.deepEqual(r, {
    DBInstanceIdentifier: 'my-db', DBInstanceClass: 'db.t3.micro', Engine: 'postgres', AllocatedStorage: 20, MasterUsername: 'app',
    ManageMasterUserPassword: false, StorageEncrypted: false, DeletionProtection: false, Tags: [{ Key: 'a', Value: '1' }], MasterUserPassword: 'Passw0rd!',
  });
  assert.equal(createDBInstance.resource(r, testEnv(new InMemoryDbServiceForTests())), 'arn:aws:rds:us-east-1:111122223333:db:my-db');
});

test('decode: combinations RDS refuses', () => {
  const combo = (extra: Record<string, string>, message: string) =>
    assert.throws(() => createDBInstance.decode(form(extra)), (e: Error) => e.name === 'InvalidParameterCombination' && e.message === message);
  combo({ ManageMasterUserPassword: 'true' }, 'You can\'t specify MasterUserPassword when ManageMasterUserPassword is turned on.');
  combo({ MasterUserSecretKmsKeyId: 'alias/k' }, 'You can\'t specify MasterUserSecretKmsKeyId unless ManageMasterUserPassword is turned on.');
  combo({ KmsKeyId: 'alias/k', StorageEncrypted: 'false' }, 'You can\'t specify KmsKeyId unless StorageEncrypted is true.');
  combo({ DBClusterIdentifier: 'c' }, 'rekey does not support DB clusters (DBClusterIdentifier).');
});

test('run: the audit gate passes before the instance exists; a refused gate creates nothing', async () => {
  const db = new InMemoryDbServiceForTests();
  const gate = { calls: [] as unknown[], onGate: async () => {
    await assert.rejects(db.get('my-db'), (e: Error) => e.name === 'DBInstanceNotFound');
  } };
  const out = await createDBInstance.run(createDBInstance.decode(form({ EngineVersion: '16' })), testEnv(db), testContext(gate));
  assert.equal(gate.calls.length, 1);
  assert.equal((out.DBInstance as { EngineVersion: string }).EngineVersion, '16.4');
  await assert.rejects(createDBInstance.run(createDBInstance.decode(form({ DBInstanceIdentifier: 'other' })), testEnv(db), testContext({ calls: [], refuse: true })), /audit refused/);
  await assert.rejects(db.get('other'), (e: Error) => e.name === 'DBInstanceNotFound');
});
