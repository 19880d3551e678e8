import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addTagsToResource, listTagsForResource, removeTagsFromResource } from './tags.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('ResourceName must be an instance ARN; its identifier is lower-cased as RDS stores it', () => {
  const r = addTagsToResource.decode(parseForm('ResourceName=arn%3Aaws%3Ards%3Aus-east-1%3A111122223333%3Adb%3AMyDB&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v'));
  assert.deepEqual(r, { ResourceName: 'arn:aws:rds:us-east-1:111122223333:db:mydb', Tags: [{ Key: 'k', Value: 'v' }] });
  assert.throws(() => listTagsForResource.decode(parseForm('ResourceName=arn%3Aaws%3Ards%3Aus-east-1%3A111122223333%3Asnapshot%3As')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'The specified resource name does not match an RDS resource in this region: arn:aws:rds:us-east-1:111122223333:snapshot:s');
  assert.throws(() => addTagsToResource.decode(parseForm('ResourceName=arn%3Aaws%3Ards%3Aus-east-1%3A111122223333%3Adb%3Aa')),
    (e: Error) => e.name === 'MissingParameter' && e.message === 'The request must contain the parameter Tags');
  assert.deepEqual(removeTagsFromResource.decode(parseForm('ResourceName=arn%3Aaws%3Ards%3Aus-east-1%3A111122223333%3Adb%3Aa&TagKeys.member.1=x&TagKeys.member.2=y')).TagKeys, ['x', 'y']);
});

test('an ARN of another account or region is DBInstanceNotFound, before the DbService is asked', async () => {
  const env = testEnv(new InMemoryDbServiceForTests());
  const r = listTagsForResource.decode(parseForm('ResourceName=arn%3Aaws%3Ards%3Aeu-west-1%3A111122223333%3Adb%3Aa'));
  await assert.rejects(listTagsForResource.run(r, env, testContext()), (e: Error) => e.name === 'DBInstanceNotFound' && e.message === 'DBInstance arn:aws:rds:eu-west-1:111122223333:db:a not found.');
});
