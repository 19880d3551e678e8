import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allow, arnOf, b64, harness, rejects, user } from '../testing.ts';

const ROOT = { Sid: 'root', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' };
const statement = { Sid: 's', Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::111122223333:role/app'] }, Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' };

test('PutKeyPolicy stores the document exactly as given, in any key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [ROOT, statement] }, null, 4);
  assert.deepEqual(await h.call('PutKeyPolicy', { KeyId: md.KeyId, PolicyName: 'default', Policy: policy }), {});
  assert.equal((await h.call('GetKeyPolicy', { KeyId: md.KeyId }))['Policy'], policy);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  const single = JSON.stringify({ Statement: { ...statement, Action: 'kms:*', Principal: '*', Condition: { StringEquals: { 'kms:CallerAccount': '111122223333' } } } });
  await h.call('PutKeyPolicy', { KeyId: md.Arn, Policy: single, BypassPolicyLockoutSafetyCheck: true });
  assert.equal((await h.call('GetKeyPolicy', { KeyId: md.KeyId }))['Policy'], single);
});

test('PutKeyPolicy runs the policy lockout safety check unless BypassPolicyLockoutSafetyCheck', async () => {
  const h = await harness();
  const md = await h.createKey();
  const lockout = JSON.stringify({ Statement: [statement] });
  await rejects(h.call('PutKeyPolicy', { KeyId: md.KeyId, Policy: lockout }), 'MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  // nothing changed: the root can still read the old policy
  assert.match(String((await h.call('GetKeyPolicy', { KeyId: md.KeyId }))['Policy']), /Enable IAM User Permissions/);
  await h.call('PutKeyPolicy', { KeyId: md.KeyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true });
  // the key is now out of the root's reach, as in AWS ("no principal, including the account root user ...")
  await rejects(h.call('GetKeyPolicy', { KeyId: md.KeyId }), 'AccessDeniedException',
    `User: arn:aws:iam::111122223333:root is not authorized to perform: kms:GetKeyPolicy on resource: ${arnOf(md.KeyId)} because no resource-based policy allows the kms:GetKeyPolicy action`);
});

test('a new key policy takes effect at once on this node', async () => {
  const h = await harness();
  const md = await h.createKey();
  const alice = user('alice', allow('kms:Encrypt'));
  await h.callAs(alice, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  const deny = { Sid: 'noalice', Effect: 'Deny', Principal: { AWS: alice.arn }, Action: 'kms:Encrypt', Resource: '*' };
  await h.call('PutKeyPolicy', { KeyId: md.KeyId, Policy: JSON.stringify({ Statement: [ROOT, deny] }) });
  await rejects(h.callAs(alice, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), 'AccessDeniedException',
    `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${md.Arn} with an explicit deny in a resource-based policy`);
});

test('PutKeyPolicy validates the document with the IAM policy grammar', async () => {
  const h = await harness();
  const md = await h.createKey();
  const put = (p: unknown) => h.call('PutKeyPolicy', { KeyId: md.KeyId, Policy: typeof p === 'string' ? p : JSON.stringify(p) });
  const M = 'MalformedPolicyDocumentException';
  await rejects(put('nope'), M, 'Syntax errors in policy.');
  await rejects(put([statement]), M, 'Syntax errors in policy.');
  await rejects(put({ Version: '2020-01-01', Statement: [statement] }), M, 'The policy Version "2020-01-01" is not supported: use "2012-10-17" (or the older "2008-10-17").');
  await rejects(put({ Statement: [] }), M, 'Missing required field Statement');
  await rejects(put({ Statement: [{ ...statement, Effect: 'Maybe' }] }), M, 'Invalid effect: Maybe');
  await rejects(put({ Statement: [ROOT, { ...statement, Sid: 't', Principal: undefined }] }), M, 'Missing required field Principal');
  await rejects(put({ Statement: [{ ...statement, Principal: { AWS: 'bob' } }] }), M, 'Invalid principal in policy: "AWS":"bob"');
  await rejects(put({ Statement: [{ ...statement, Action: undefined }] }), M, 'Policy statement must contain actions.');
  await rejects(put({ Statement: [{ ...statement, Action: 'Encrypt' }] }), M, 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
  await rejects(put({ Statement: [{ ...statement, Resource: [] }] }), M, 'Policy statement must contain resources.');
  await rejects(put({ Statement: [ROOT, { ...statement, Sid: 'root' }] }), M, 'Statement IDs (SID) in a single policy must be unique.');
  await rejects(put({ Statement: [{ ...statement, Sid: 'x'.repeat(32768) }] }), M, 'The policy document exceeds the maximum size of 32768 bytes.');
  await rejects(put({ Statement: [{ ...statement, Sid: '\u4e2d' }] }), 'ValidationException',
    /^1 validation error detected: Value '.*' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: \^\[\\u0009\\u000A\\u000D\\u0020-\\u00FF\]\+\$$/s);
  await rejects(h.call('PutKeyPolicy', { KeyId: md.KeyId, PolicyName: 'custom', Policy: JSON.stringify({ Statement: [ROOT] }) }), 'NotFoundException', 'No such policy exists');
  await rejects(h.call('PutKeyPolicy', { KeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null");
});
