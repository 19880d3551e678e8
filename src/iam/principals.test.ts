import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IamService } from './service.ts';
import { ACCOUNT, REGION, TestClock, signed, testIam } from './testing.ts';

const policy = (Action: string | string[], Effect = 'Allow') => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect, Action, Resource: '*' }] });

test('the bootstrap administrator is a real user with AdministratorAccess', async () => {
  const { iam, clock, admin } = await testIam();
  const user = await iam.principals.getUser('rekey-admin');
  assert.equal(user.arn, `arn:aws:iam::${ACCOUNT}:user/rekey-admin`);
  assert.deepEqual(Object.keys(user.policies), ['AdministratorAccess']);
  assert.match(user.userId, /^AIDA[A-Z2-7]{17}$/);
  const id = await iam.authenticate(signed(admin, { now: clock.now() }), 'kms');
  assert.deepEqual([id.type, id.arn, id.userName, id.principalId], ['IAMUser', user.arn, 'rekey-admin', user.userId]);
  assert.equal(iam.authorizeAdmin(id, 'iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/x`).allowed, true);
  // a second bootstrap changes nothing
  const again = await iam.bootstrap();
  assert.deepEqual([again.created, again.rec.accessKeyId], [false, admin.accessKeyId]);
});

test('users: create, duplicate (case-insensitive), validation, access keys, policies, delete', async () => {
  const { iam, clock } = await testIam();
  const bob = await iam.principals.createUser('bob');
  assert.equal(bob.arn, `arn:aws:iam::${ACCOUNT}:user/bob`);
  await assert.rejects(iam.principals.createUser('BOB'), { name: 'AlreadyExistsException', message: 'User with name BOB already exists.' });
  await assert.rejects(iam.principals.createUser('bad name'), { name: 'ValidationException', message: /at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern/ });
  await assert.rejects(iam.principals.getUser('nobody'), { name: 'NotFoundException', message: 'The user with name nobody cannot be found.' });

  const k1 = await iam.accessKeys.create(bob);
  assert.match(k1.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  assert.equal(k1.secretAccessKey.length, 40);
  await iam.accessKeys.create(bob);
  await assert.rejects(iam.accessKeys.create(bob), { name: 'LimitExceededException', message: 'Cannot exceed quota for AccessKeysPerUser: 2' });
  const listed = await iam.accessKeys.listForUser('bob');
  assert.equal(listed.length, 2);
  assert.ok(listed.every((k) => !('secretAccessKey' in k)), 'listing never shows the secret');

  // identity policies take effect at once on this node
  const id0 = await iam.authenticate(signed(k1, { now: clock.now() }), 'kms');
  assert.throws(() => iam.authorizeKms(id0, { action: 'kms:CreateKey', keyArn: '*' }), { name: 'AccessDeniedException', message: `User: ${bob.arn} is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action` });
  await iam.principals.putPolicy('user', 'bob', 'kms', policy('kms:CreateKey'));
  const id1 = await iam.authenticate(signed(k1, { now: clock.now() }), 'kms');
  assert.equal(iam.authorizeKms(id1, { action: 'kms:CreateKey', keyArn: '*' }).allowed, true);
  assert.deepEqual(await iam.principals.listPolicies('user', 'bob'), ['kms']);
  await assert.rejects(iam.principals.putPolicy('user', 'bob', 'bad', '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}'), { name: 'MalformedPolicyDocumentException', message: 'Has prohibited field Principal' });
  await assert.rejects(iam.principals.getPolicy('user', 'bob', 'nope'), { name: 'NotFoundException', message: 'The user policy with name nope cannot be found.' });

  // disable a key: refused at once
  await iam.accessKeys.setStatus(k1.accessKeyId, 'Inactive', 'bob');
  await assert.rejects(iam.authenticate(signed(k1, { now: clock.now() }), 'kms'), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });

  await assert.rejects(iam.deleteUser('bob'), { name: 'DeleteConflictException', message: 'Cannot delete entity, must delete access keys first.' });
  await iam.deleteUser('bob', true);
  await assert.rejects(iam.principals.getUser('bob'), { name: 'NotFoundException' });
  assert.equal(await iam.accessKeys.get(k1.accessKeyId), null);
});

test('changes made on another node are seen within the cache TTL (under one second)', async () => {
  const clock = new TestClock();
  const a = await testIam({ clock });
  const b = new IamService({ barrier: a.barrier, accountId: ACCOUNT, region: REGION, clock: clock.now });
  const carol = await a.iam.principals.createUser('carol');
  const key = await a.iam.accessKeys.create(carol);
  await a.iam.principals.putPolicy('user', 'carol', 'p', policy('kms:*'));
  const idB = await b.authenticate(signed(key, { now: clock.now() }), 'kms');
  assert.equal(b.authorizeKms(idB, { action: 'kms:ListKeys', keyArn: '*' }).allowed, true);

  // node A replaces the policy with a deny and disables the key
  await a.iam.principals.putPolicy('user', 'carol', 'p', policy('kms:*', 'Deny'));
  clock.advance(999);
  const idB2 = await b.authenticate(signed(key, { now: clock.now() }), 'kms');
  assert.throws(() => b.authorizeKms(idB2, { action: 'kms:ListKeys', keyArn: '*' }), { name: 'AccessDeniedException', message: /with an explicit deny in an identity-based policy$/ });
  await a.iam.accessKeys.setStatus(key.accessKeyId, 'Inactive');
  clock.advance(999);
  await assert.rejects(b.authenticate(signed(key, { now: clock.now() }), 'kms'), { name: 'UnrecognizedClientException' });
});

test('roles: trust policy validated, duplicate names refused, max session duration bounded', async () => {
  const { iam } = await testIam();
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] });
  const role = await iam.principals.createRole('app', trust, { description: 'the app', maxSessionDuration: 7200 });
  assert.equal(role.arn, `arn:aws:iam::${ACCOUNT}:role/app`);
  assert.match(role.roleId, /^AROA[A-Z2-7]{17}$/);
  await assert.rejects(iam.principals.createRole('App', trust), { name: 'AlreadyExistsException', message: 'Role with name App already exists.' });
  await assert.rejects(iam.principals.createRole('x', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole' }] })), { name: 'MalformedPolicyDocumentException', message: 'Missing required field Principal' });
  await assert.rejects(iam.principals.createRole('y', trust, { maxSessionDuration: 60 }), { name: 'ValidationException', message: /Member must have value between 3600 and 43200/ });
  await iam.principals.putPolicy('role', 'app', 'use', policy('kms:Decrypt'));
  await assert.rejects(iam.principals.deleteRole('app'), { name: 'DeleteConflictException', message: 'Cannot delete entity, must delete policies first.' });
  await iam.principals.deletePolicy('role', 'app', 'use');
  await iam.principals.deleteRole('app');
  await assert.rejects(iam.principals.getRole('app'), { name: 'NotFoundException', message: 'The role with name app cannot be found.' });
});
