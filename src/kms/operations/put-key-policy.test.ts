import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, rejects } from '../testing.ts';

const statement = { Sid: 's', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:role/app'] }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' };

test('PutKeyPolicy stores the document exactly as given, in any key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [statement] }, null, 4);
  assert.deepEqual(await h.call('PutKeyPolicy', { KeyId: md.KeyId, PolicyName: 'default', Policy: policy }), {});
  assert.equal((await h.call('GetKeyPolicy', { KeyId: md.KeyId }))['Policy'], policy);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  const single = JSON.stringify({ Statement: { ...statement, Principal: '*', Condition: { StringEquals: { 'kms:CallerAccount': '111122223333' } } } });
  await h.call('PutKeyPolicy', { KeyId: md.Arn, Policy: single, BypassPolicyLockoutSafetyCheck: true });
  assert.equal((await h.call('GetKeyPolicy', { KeyId: md.KeyId }))['Policy'], single);
});

test('PutKeyPolicy validates the document', async () => {
  const h = await harness();
  const md = await h.createKey();
  const put = (p: unknown) => h.call('PutKeyPolicy', { KeyId: md.KeyId, Policy: typeof p === 'string' ? p : JSON.stringify(p) });
  const M = 'MalformedPolicyDocumentException';
  await rejects(put('nope'), M, 'The key policy is not valid JSON.');
  await rejects(put([statement]), M, 'The key policy must be a JSON object.');
  await rejects(put({ Version: '2020-01-01', Statement: [statement] }), M, 'The policy Version must be "2012-10-17" or "2008-10-17".');
  await rejects(put({ Statement: [] }), M, 'The key policy must contain at least one Statement.');
  await rejects(put({ Statement: [{ ...statement, Effect: 'Maybe' }] }), M, 'Statement 1 must have an Effect of "Allow" or "Deny".');
  await rejects(put({ Statement: [statement, { ...statement, Principal: undefined }] }), M, 'Statement 2 must have a Principal.');
  await rejects(put({ Statement: [{ ...statement, Principal: { AWS: 5 } }] }), M, 'Statement 1 has an invalid Principal.');
  await rejects(put({ Statement: [{ ...statement, Action: undefined }] }), M, 'Statement 1 must have an Action (a string or a list of strings).');
  await rejects(put({ Statement: [{ ...statement, Resource: [] }] }), M, 'Statement 1 must have a Resource (a string or a list of strings).');
  await rejects(put({ Statement: [{ ...statement, Condition: 'x' }] }), M, 'Statement 1 has an invalid Condition.');
  await rejects(put({ Statement: [{ ...statement, Sid: 'x'.repeat(32768) }] }), M, 'The key policy exceeds the maximum size of 32768 bytes.');
  await rejects(put({ Statement: [{ ...statement, Sid: '\u4e2d' }] }), 'ValidationException',
    /^1 validation error detected: Value '.*' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: \^\[\\u0009\\u000A\\u000D\\u0020-\\u00FF\]\+\$$/s);
  await rejects(h.call('PutKeyPolicy', { KeyId: md.KeyId, PolicyName: 'custom', Policy: JSON.stringify({ Statement: [statement] }) }), 'NotFoundException', 'No such policy exists');
  await rejects(h.call('PutKeyPolicy', { KeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null");
});
