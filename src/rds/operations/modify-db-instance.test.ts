import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modifyDBInstance } from './modify-db-instance.ts';
import { parseForm } from '../form.ts';

const decode = (q: string) => modifyDBInstance.decode(parseForm(`DBInstanceIdentifier=App&${q}`));
const refused = (q: string, name: string, message: string | RegExp) => assert.throws(() => decode(q), (e: Error) => {
  assert.equal(e.name, name);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
});

test('decode: only what rekey changes, with ApplyImmediately false by default', () => {
  assert.deepEqual(decode('DeletionProtection=true'), { DBInstanceIdentifier: 'app', ApplyImmediately: false, DeletionProtection: true });
  assert.deepEqual(decode('ManageMasterUserPassword=true&MasterUserSecretKmsKeyId=alias%2Fs&ApplyImmediately=true'),
    { DBInstanceIdentifier: 'app', ApplyImmediately: true, ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: 'alias/s' });
});

test('decode: RotateMasterUserPassword needs ApplyImmediately and excludes a password; unsupported changes are refused', () => {
  refused('RotateMasterUserPassword=true', 'InvalidParameterCombination', 'RotateMasterUserPassword requires ApplyImmediately.');
  refused('RotateMasterUserPassword=true&ApplyImmediately=true&MasterUserPassword=Passw0rd!', 'InvalidParameterCombination', 'You can\'t specify MasterUserPassword together with RotateMasterUserPassword.');
  refused('RotateMasterUserPassword=true&ApplyImmediately=true&ManageMasterUserPassword=false', 'InvalidParameterCombination', 'You can\'t specify RotateMasterUserPassword when ManageMasterUserPassword is turned off.');
  refused('MasterUserPassword=short', 'InvalidParameterValue', 'The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  refused('NewDBInstanceIdentifier=b', 'InvalidParameterValue', /^rekey does not support modifying NewDBInstanceIdentifier/);
});
