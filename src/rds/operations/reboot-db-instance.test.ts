import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rebootDBInstance } from './reboot-db-instance.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('RebootDBInstance: ForceFailover=false is fine, true is refused; unknown instance is DBInstanceNotFound', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true });
  const r = rebootDBInstance.decode(parseForm('DBInstanceIdentifier=ghost&ForceFailover=false'));
  assert.deepEqual(r, { DBInstanceIdentifier: 'ghost' });
  await assert.rejects(rebootDBInstance.run(r, testEnv(db), testContext()), (e: Error) => e.name === 'DBInstanceNotFound' && e.message === 'DBInstance ghost not found.');
  assert.throws(() => rebootDBInstance.decode(parseForm('DBInstanceIdentifier=a&ForceFailover=true')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'rekey does not support ForceFailover (instances are not Multi-AZ).');
});
