import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDBSnapshot } from './create-db-snapshot.ts';
import { parseForm } from '../form.ts';
import { testContext, testEnv } from '../testing.ts';
import { dbWithInstance } from './snapshot-test-helpers.ts';

test('CreateDBSnapshot: decode (identifiers lower-cased, tags), resource is the snapshot ARN, run returns DBSnapshot', async () => {
  const r = createDBSnapshot.decode(parseForm('DBSnapshotIdentifier=Snap-1&DBInstanceIdentifier=APP&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v'));
  assert.deepEqual(r, { DBSnapshotIdentifier: 'snap-1', DBInstanceIdentifier: 'app', Tags: [{ Key: 'k', Value: 'v' }] });
  const db = await dbWithInstance();
  assert.equal(createDBSnapshot.resource(r, testEnv(db)), 'arn:aws:rds:us-east-1:111122223333:snapshot:snap-1');
  const gate = { calls: [] as unknown[] };
  const out = (await createDBSnapshot.run(r, testEnv(db), testContext(gate))).DBSnapshot as Record<string, unknown>;
  assert.equal(out.DBSnapshotIdentifier, 'snap-1');
  assert.equal(out.DBInstanceIdentifier, 'app');
  assert.equal(out.SnapshotType, 'manual');
  assert.equal(out.Encrypted, true);
  assert.equal(out.PercentProgress, 100);
  assert.equal(gate.calls.length, 1);
  await assert.rejects(createDBSnapshot.run(r, testEnv(db), testContext()),
    (e: Error) => e.name === 'DBSnapshotAlreadyExists' && e.message === 'Cannot create the snapshot because a snapshot with the identifier snap-1 already exists.');
  assert.throws(() => createDBSnapshot.decode(parseForm('DBSnapshotIdentifier=a--b&DBInstanceIdentifier=app')),
    (e: Error) => e.name === 'InvalidParameterValue' && /^The parameter DBSnapshotIdentifier is not a valid identifier\./.test(e.message));
  assert.throws(() => createDBSnapshot.decode(parseForm('DBSnapshotIdentifier=s')),
    (e: Error) => e.name === 'MissingParameter' && e.message === 'The request must contain the parameter DBInstanceIdentifier');
  assert.throws(() => createDBSnapshot.decode(parseForm(`DBSnapshotIdentifier=${'a'.repeat(256)}&DBInstanceIdentifier=app`)), (e: Error) => e.name === 'InvalidParameterValue');
});
