import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { iamRoutes, IAM_ROUTES } from './admin-iam.ts';
import { adminOpenApiPaths } from './admin-routes.ts';
import { adminTestApp } from './testing.ts';
import type { SigningCredentials } from '../iam/sigv4-sign.ts';
import { ACCOUNT, testIam } from '../iam/testing.ts';
import { base32Decode, hotp, timeStep } from '../iam/totp.ts';

async function server() {
  const t = await testIam();
  const h = await adminTestApp(t, iamRoutes(t.iam));
  after(() => h.app.close());
  async function call(creds: SigningCredentials | null, method: string, path: string, body?: unknown) {
    const res = await h.inject({ method, url: path, creds, ...(body === undefined ? {} : { body }) });
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
  }
  return { ...t, call, events: h.audit.events };
}

test('users, access keys and policies through the admin API, as the bootstrap administrator', async () => {
  const { call, admin, events } = await server();
  const created = await call(admin, 'POST', '/v1/iam/users', { UserName: 'app' });
  assert.equal(created.status, 201);
  assert.deepEqual(Object.keys(created.body['User'] as object), ['UserName', 'UserId', 'Arn', 'Path', 'CreateDate']);
  assert.equal((created.body['User'] as { Arn: string }).Arn, `arn:aws:iam::${ACCOUNT}:user/app`);
  assert.deepEqual((await call(admin, 'POST', '/v1/iam/users', { UserName: 'app' })).body['error'], 'AlreadyExistsException');

  const key = await call(admin, 'POST', '/v1/iam/users/app/access-keys');
  const ak = key.body['AccessKey'] as { AccessKeyId: string; SecretAccessKey: string; Status: string };
  assert.equal(ak.Status, 'Active');
  assert.equal(ak.SecretAccessKey.length, 40);
  const listed = await call(admin, 'GET', '/v1/iam/users/app/access-keys');
  assert.equal(JSON.stringify(listed.body).includes(ak.SecretAccessKey), false, 'the secret is shown once');

  // the new user may not administer IAM
  const creds = { accessKeyId: ak.AccessKeyId, secretAccessKey: ak.SecretAccessKey };
  const denied = await call(creds, 'POST', '/v1/iam/users', { UserName: 'mallory' });
  assert.equal(denied.status, 400);
  assert.deepEqual([denied.body['error'], denied.body['message']], ['AccessDeniedException',
    `User: arn:aws:iam::${ACCOUNT}:user/app is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::${ACCOUNT}:user/mallory because no identity-based policy allows the iam:CreateUser action`]);
  assert.deepEqual((await call(creds, 'GET', '/v1/iam/whoami')).body, { Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/app`, UserId: (created.body['User'] as { UserId: string }).UserId });

  // an inline policy (as an object or as JSON text) grants exactly what it says
  const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }] };
  assert.equal((await call(admin, 'PUT', '/v1/iam/users/app/policies/list', { PolicyDocument: doc })).status, 204);
  assert.equal((await call(creds, 'GET', '/v1/iam/users')).status, 200);
  assert.deepEqual((await call(admin, 'GET', '/v1/iam/users/app/policies')).body, { PolicyNames: ['list'] });
  assert.deepEqual(JSON.parse((await call(admin, 'GET', '/v1/iam/users/app/policies/list')).body['PolicyDocument'] as string), doc);
  const bad = await call(admin, 'PUT', '/v1/iam/users/app/policies/bad', { PolicyDocument: '{"Statement":[]}' });
  assert.deepEqual([bad.status, bad.body['error'], bad.body['message']], [400, 'MalformedPolicyDocumentException', 'Missing required field Statement']);

  // disable the key: refused at once
  assert.equal((await call(admin, 'PATCH', `/v1/iam/users/app/access-keys/${ak.AccessKeyId}`, { Status: 'Inactive' })).status, 204);
  const off = await call(creds, 'GET', '/v1/iam/users');
  assert.deepEqual([off.status, off.body['error'], off.body['message']], [400, 'UnrecognizedClientException', 'The security token included in the request is invalid.']);

  // delete needs the dependents gone (DeleteConflict), or Force
  const conflict = await call(admin, 'DELETE', '/v1/iam/users/app');
  assert.deepEqual([conflict.status, conflict.body['error']], [409, 'DeleteConflictException']);
  assert.equal((await call(admin, 'DELETE', '/v1/iam/users/app?Force=true')).status, 204);
  assert.deepEqual((await call(admin, 'GET', '/v1/iam/users/app')).body['message'], 'The user with name app cannot be found.');

  // every call reached the audit trail, without policy documents
  assert.ok(events.some((e) => e.eventName === 'CreateUser' && e.eventSource === 'iam.amazonaws.com' && e.userIdentity.arn === `arn:aws:iam::${ACCOUNT}:user/rekey-admin`));
  assert.ok(events.some((e) => e.errorCode === 'AccessDeniedException'));
  assert.ok(events.some((e) => e.eventName === 'PutUserPolicy'));
  assert.ok(events.every((e) => !JSON.stringify(e.requestParameters ?? {}).toLowerCase().includes('policydocument')));
});

test('unsigned and badly signed calls are refused', async () => {
  const { call, admin } = await server();
  const none = await call(null, 'GET', '/v1/iam/users');
  assert.deepEqual([none.status, none.body['error'], none.body['message']], [403, 'MissingAuthenticationTokenException', 'Missing Authentication Token']);
  const wrong = await call({ ...admin, secretAccessKey: 'x'.repeat(40) }, 'GET', '/v1/iam/users');
  assert.deepEqual([wrong.status, wrong.body['error']], [400, 'InvalidSignatureException']);
});

test('roles and MFA devices', async () => {
  const { call, admin, clock } = await server();
  const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }] };
  const role = await call(admin, 'POST', '/v1/iam/roles', { RoleName: 'app', AssumeRolePolicyDocument: trust, MaxSessionDuration: 7200 });
  assert.equal(role.status, 201);
  assert.equal((role.body['Role'] as { Arn: string; MaxSessionDuration: number }).MaxSessionDuration, 7200);
  assert.equal((await call(admin, 'PUT', '/v1/iam/roles/app/policies/use', { PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] }) })).status, 204);
  assert.deepEqual(((await call(admin, 'GET', '/v1/iam/roles')).body['Roles'] as { RoleName: string }[]).map((r) => r.RoleName), ['app']);

  await call(admin, 'POST', '/v1/iam/users', { UserName: 'ops' });
  const dev = (await call(admin, 'POST', '/v1/iam/mfa-devices', { VirtualMFADeviceName: 'ops-phone' })).body['VirtualMFADevice'] as { SerialNumber: string; Base32StringSeed: string };
  const seed = base32Decode(dev.Base32StringSeed);
  const s = timeStep(clock.ms / 1000);
  const bad = await call(admin, 'POST', '/v1/iam/users/ops/mfa-devices', { SerialNumber: dev.SerialNumber, AuthenticationCode1: '000000', AuthenticationCode2: '000001' });
  assert.deepEqual([bad.status, bad.body['error']], [403, 'InvalidAuthenticationCodeException']);
  assert.equal((await call(admin, 'POST', '/v1/iam/users/ops/mfa-devices', { SerialNumber: dev.SerialNumber, AuthenticationCode1: hotp(seed, s - 1), AuthenticationCode2: hotp(seed, s) })).status, 204);
  assert.deepEqual((await call(admin, 'GET', '/v1/iam/mfa-devices?UserName=ops')).body['MFADevices'], [{ SerialNumber: dev.SerialNumber, Enabled: true, UserName: 'ops', EnableDate: new Date(clock.ms).toISOString().replace('.000', '') }]);
  const serial = encodeURIComponent(dev.SerialNumber);
  assert.equal((await call(admin, 'DELETE', `/v1/iam/users/ops/mfa-devices?SerialNumber=${serial}`)).status, 204);
  assert.equal((await call(admin, 'DELETE', `/v1/iam/mfa-devices?SerialNumber=${serial}`)).status, 204);

  const kp = await call(admin, 'POST', '/v1/iam/key-policy', { Administrators: [`arn:aws:iam::${ACCOUNT}:user/ops`], Users: [`arn:aws:iam::${ACCOUNT}:role/app`] });
  assert.deepEqual((JSON.parse(kp.body['Policy'] as string) as { Statement: { Sid: string }[] }).Statement.map((x) => x.Sid).length, 4);
});

test('the OpenAPI paths cover every route', () => {
  const paths = adminOpenApiPaths(iamRoutes({ accountId: ACCOUNT } as Parameters<typeof iamRoutes>[0]));
  for (const [method, url] of IAM_ROUTES) assert.ok(paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()], `${method} ${url}`);
});
