import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { registerKmsCommands } from './kms-command.ts';
import { RemoteError } from './iam-command.ts';
import { kmsAdminRoutes } from '../http/admin-kms.ts';
import { cliTestServer } from './testing.ts';
import { KmsService } from '../kms/service.ts';
import { ACCOUNT, REGION, TestClock, testIam } from '../iam/testing.ts';

async function setup() {
  const t = await testIam({ clock: new TestClock(Date.now()) });
  const kms = new KmsService({ barrier: t.barrier, region: REGION, accountId: ACCOUNT, iam: t.iam });
  const { run, endpoint, audit, close } = await cliTestServer(t, kmsAdminRoutes(kms, ACCOUNT), 'kms', registerKmsCommands);
  after(close);
  return { ...t, kms, run, endpoint, calls: audit.events };
}

test('rekey kms create-key writes the separation-of-duties key policy through POST /v1/kms/keys', async () => {
  const { run, kms, admin, calls } = await setup();
  const admins = `arn:aws:iam::${ACCOUNT}:user/keyadmin`;
  const users = [`arn:aws:iam::${ACCOUNT}:role/app`, `arn:aws:iam::${ACCOUNT}:user/svc`];
  const r = await run(['create-key', '--administrators', admins, '--users', users.join(','), '--description', 'payments']);
  const md = r['KeyMetadata'] as { KeyId: string; Description: string; Arn: string };
  assert.equal(md.Description, 'payments');
  const policy = JSON.parse(String(r['Policy'])) as { Statement: { Sid: string; Principal: { AWS: unknown }; Action: string[] | string }[] };
  assert.deepEqual(policy.Statement.map((s) => s.Sid), ['Enable IAM User Permissions', 'Allow access for Key Administrators', 'Allow use of the key', 'Allow attachment of persistent resources']);
  assert.deepEqual(policy.Statement[1]!.Principal.AWS, admins);
  assert.deepEqual(policy.Statement[2]!.Principal.AWS, users);
  assert.ok(!(policy.Statement[1]!.Action as string[]).some((a) => /Encrypt|Decrypt|GenerateDataKey/.test(a)));
  // the stored policy is the one returned
  const root = { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accessKeyId: 'x', type: 'Root' as const, principalId: ACCOUNT, identityPolicies: [] };
  assert.equal((await kms.call('GetKeyPolicy', { KeyId: md.KeyId }, root))['Policy'], r['Policy']);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.userIdentity.accessKeyId, admin.accessKeyId);
  assert.equal(calls[0]!.errorCode, undefined);
  assert.deepEqual(calls[0]!.resources.map((r) => r.ARN), [md.Arn]);
  // --no-iam-user-permissions leaves the key to the named principals alone
  const only = await run(['create-key', '--administrators', admins, '--users', users[0]!, '--no-iam-user-permissions'], admin).catch((e: unknown) => e);
  assert.ok(only instanceof RemoteError);
  assert.equal(only.code, 'MalformedPolicyDocumentException');
  assert.equal(only.message, 'The new key policy will not allow you to update the key policy in the future.');
});

test('POST /v1/kms/keys: kms:CreateKey is required, principals are checked, errors use the /v1 shape', async () => {
  const { run, iam } = await setup();
  await iam.principals.createUser('bob');
  const bob = await iam.accessKeys.create({ name: 'bob', arn: `arn:aws:iam::${ACCOUNT}:user/bob`, accountId: ACCOUNT });
  const e1 = await run(['create-key', '--users', `arn:aws:iam::${ACCOUNT}:user/bob`], bob).catch((e: unknown) => e);
  assert.ok(e1 instanceof RemoteError);
  assert.deepEqual([e1.code, e1.status, e1.message], ['AccessDeniedException', 400,
    `User: arn:aws:iam::${ACCOUNT}:user/bob is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action`]);
  const e2 = await run(['create-key', '--users', 'bob']).catch((e: unknown) => e);
  assert.ok(e2 instanceof RemoteError);
  assert.deepEqual([e2.code, e2.message], ['MalformedPolicyDocumentException', 'Invalid principal in policy: "AWS":"bob"']);
  await assert.rejects(run(['create-key']), (e: Error) => e.name === 'ValidationException' && e.message === 'Give --administrators and/or --users (comma-separated principal ARNs).');
  const e3 = await run(['create-key', '--users', `arn:aws:iam::${ACCOUNT}:user/bob`], { ...bob, secretAccessKey: 'x'.repeat(40) }).catch((e: unknown) => e);
  assert.ok(e3 instanceof RemoteError);
  assert.equal(e3.code, 'InvalidSignatureException');
});
