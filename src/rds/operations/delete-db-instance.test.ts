import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteDBInstance } from './delete-db-instance.ts';
import { parseForm } from '../form.ts';

test('decode: SkipFinalSnapshot or a valid FinalDBSnapshotIdentifier; DeleteAutomatedBackups defaults to true (RDS)', () => {
  assert.deepEqual(deleteDBInstance.decode(parseForm('DBInstanceIdentifier=A&SkipFinalSnapshot=true')),
    { DBInstanceIdentifier: 'a', SkipFinalSnapshot: true, DeleteAutomatedBackups: true });
  assert.deepEqual(deleteDBInstance.decode(parseForm('DBInstanceIdentifier=a&FinalDBSnapshotIdentifier=Final-1&DeleteAutomatedBackups=false')),
    { DBInstanceIdentifier: 'a', SkipFinalSnapshot: false, DeleteAutomatedBackups: false, FinalDBSnapshotIdentifier: 'final-1' });
  assert.throws(() => deleteDBInstance.decode(parseForm('DBInstanceIdentifier=a')),
    (e: Error) => e.name === 'InvalidParameterCombination' && e.message === 'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  assert.throws(() => deleteDBInstance.decode(parseForm('SkipFinalSnapshot=true')),
    (e: Error) => e.name === 'MissingParameter' && e.message === 'The request must contain the parameter DBInstanceIdentifier');
});
