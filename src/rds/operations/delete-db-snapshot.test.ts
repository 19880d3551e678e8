import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteDBSnapshot } from './delete-db-snapshot.ts';
import { parseForm } from '../form.ts';
import { testContext, testEnv } from '../testing.ts';
import { dbWithInstance } from './snapshot-test-helpers.ts';

test('DeleteDBSnapshot: by identifier or ARN; another account\'s ARN is not found; the response says deleting', async () => {
  const db = await dbWithInstance();
  await db.createSnapshot({ id: 's1', instanceId: 'app', tags: [] }, testContext());
  const byArn = deleteDBSnapshot.decode(parseForm('DBSnapshotIdentifier=arn%3Aaws%3Ards%3Aus-east-1%3A999999999999%3Asnapshot%3As1'));
  assert.equal(deleteDBSnapshot.resource(byArn, testEnv(db)), 'arn:aws:rds:us-east-1:999999999999:snapshot:s1');
  await assert.rejects(deleteDBSnapshot.run(byArn, testEnv(db), testContext()), (e: Error) => e.name === 'DBSnapshotNotFound' && e.message === 'DBSnapshot arn:aws:rds:us-east-1:999999999999:snapshot:s1 not found.');
  const r = deleteDBSnapshot.decode(parseForm('DBSnapshotIdentifier=S1'));
  const out = (await deleteDBSnapshot.run(r, testEnv(db), testContext())).DBSnapshot as Record<string, unknown>;
  assert.equal(out.Status, 'deleting');
  await assert.rejects(deleteDBSnapshot.run(r, testEnv(db), testContext()), (e: Error) => e.name === 'DBSnapshotNotFound' && e.message === 'DBSnapshot s1 not found.');
});
