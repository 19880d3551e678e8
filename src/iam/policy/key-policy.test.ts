import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultKeyPolicy, checkPolicyLockout, KEY_ADMIN_ACTIONS } from './key-policy.ts';
import { authorize } from './evaluate.ts';
import { parsePolicy } from './parse.ts';
import { kmsContext } from './context.ts';

const ACCT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const admin = { arn: `arn:aws:iam::${ACCT}:user/key-admin`, accountId: ACCT, type: 'IAMUser' as const, principalId: 'AIDAADMIN' };
const app = { arn: `arn:aws:sts::${ACCT}:assumed-role/app/s`, roleArn: `arn:aws:iam::${ACCT}:role/app`, accountId: ACCT, type: 'AssumedRole' as const, principalId: 'AROAAPP:s' };
const policy = defaultKeyPolicy({ accountId: ACCT, administrators: [admin.arn], users: [`arn:aws:iam::${ACCT}:role/app`] });

const can = (who: typeof admin | typeof app, action: string, identityPolicies: string[] = []) =>
  authorize({ principal: who, action, resource: KEY, keyPolicy: policy, identityPolicies, context: kmsContext({ principal: who, now: new Date() }) });

test('the policy has the AWS console default shape and is a valid key policy', () => {
  const doc = JSON.parse(policy) as { Statement: { Sid: string; Action: string | string[]; Condition?: unknown }[] };
  assert.deepEqual(doc.Statement.map((s) => s.Sid), ['Enable IAM User Permissions', 'Allow access for Key Administrators', 'Allow use of the key', 'Allow attachment of persistent resources']);
  assert.deepEqual(doc.Statement[1]!.Action, [...KEY_ADMIN_ACTIONS]);
  assert.deepEqual(doc.Statement[2]!.Action, ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey']);
  assert.deepEqual(doc.Statement[3]!.Condition, { Bool: { 'kms:GrantIsForAWSResource': 'true' } });
  assert.equal(parsePolicy(policy, 'resource').statements.length, 4);
});

test('a key administrator manages but cannot use the key', () => {
  for (const a of ['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:DisableKey', 'kms:DescribeKey', 'kms:TagResource', 'kms:RotateKeyOnDemand', 'kms:CancelKeyDeletion']) {
    assert.equal(can(admin, a).allowed, true, a);
  }
  for (const a of ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext']) {
    const d = can(admin, a);
    assert.deepEqual([d.allowed, d.reason, d.policyType], [false, 'implicitDeny', 'identity'], a);
  }
});

test('a key user uses but cannot manage the key', () => {
  for (const a of ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:DescribeKey']) assert.equal(can(app, a).allowed, true, a);
  for (const a of ['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:DisableKey', 'kms:CancelKeyDeletion']) assert.equal(can(app, a).allowed, false, a);
  // grants only for AWS-integrated resources
  assert.equal(can(app, 'kms:CreateGrant').allowed, false);
});

test('without the IAM statement, identity policies cannot widen access', () => {
  const strict = defaultKeyPolicy({ accountId: ACCT, administrators: [admin.arn], users: [], enableIamUserPermissions: false });
  const everything = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
  assert.equal(can(admin, 'kms:Encrypt', [everything]).allowed, true, 'with the IAM statement, IAM can grant Encrypt');
  const d = authorize({ principal: admin, action: 'kms:Encrypt', resource: KEY, keyPolicy: strict, identityPolicies: [everything], context: {} });
  assert.deepEqual([d.allowed, d.policyType], [false, 'resource']);
});

test('the lockout safety check refuses a policy its author could not change again', () => {
  const mine = defaultKeyPolicy({ accountId: ACCT, administrators: [admin.arn], users: [], enableIamUserPermissions: false });
  checkPolicyLockout({ keyPolicy: mine, principal: admin, identityPolicies: [], keyArn: KEY, context: {} });
  const theirs = defaultKeyPolicy({ accountId: ACCT, administrators: [`arn:aws:iam::${ACCT}:user/other`], users: [], enableIamUserPermissions: false });
  assert.throws(() => checkPolicyLockout({ keyPolicy: theirs, principal: admin, identityPolicies: [], keyArn: KEY, context: {} }), {
    name: 'MalformedPolicyDocumentException', message: 'The new key policy will not allow you to update the key policy in the future.',
  });
});
