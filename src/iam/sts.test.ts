import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, signed, testIam } from './testing.ts';
import { base32Decode, hotp, timeStep } from './totp.ts';
import { kmsContext } from './policy/context.ts';
import { authorize } from './policy/evaluate.ts';

const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const MFA_KEY_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'admins', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/dana` }, Action: ['kms:ScheduleKeyDeletion', 'kms:DescribeKey'], Resource: '*' },
    { Sid: 'require MFA to delete', Effect: 'Deny', Principal: '*', Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:PutKeyPolicy'], Resource: '*', Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } } },
  ],
});

async function setup() {
  const t = await testIam();
  const dana = await t.iam.principals.createUser('dana');
  const key = await t.iam.accessKeys.create(dana);
  const device = await t.iam.mfa.createVirtualDevice('dana-phone');
  const seed = base32Decode(device.base32StringSeed);
  const code = (offset = 0) => hotp(seed, timeStep(t.clock.ms / 1000) + offset);
  await t.iam.mfa.enable('dana', device.serialNumber, code(-1), code(0));
  return { ...t, dana, key, device, code };
}

test('MFA devices: two consecutive codes enable; wrong codes refused; listing shows no secret', async () => {
  const { iam, device } = await setup();
  assert.equal(device.serialNumber, `arn:aws:iam::${ACCOUNT}:mfa/dana-phone`);
  assert.match(device.otpauthUri, /^otpauth:\/\/totp\/rekey%3Adana-phone%40111122223333\?secret=[A-Z2-7]{32}&issuer=rekey&algorithm=SHA1&digits=6&period=30$/);
  const other = await iam.mfa.createVirtualDevice('spare');
  await assert.rejects(iam.mfa.enable('dana', other.serialNumber, '000000', '111111'), { name: 'InvalidAuthenticationCodeException', message: 'Authentication code for device is not valid.' });
  const listed = await iam.mfa.list('dana');
  assert.deepEqual(listed.map((d) => [d.serialNumber, d.enabled, d.userName]), [[device.serialNumber, true, 'dana']]);
  assert.ok(!('secret' in listed[0]!));
  await assert.rejects(iam.mfa.delete(device.serialNumber), { name: 'DeleteConflictException' });
  await iam.mfa.deactivate('dana', device.serialNumber);
  await iam.mfa.delete(device.serialNumber);
  assert.deepEqual(await iam.mfa.list('dana'), []);
});

test('GetSessionToken with a valid code gives an MFA session; an MFA-required deletion fails without and succeeds with it', async () => {
  const { iam, key, device, clock, code } = await setup();
  const longTerm = await iam.authenticate(signed(key, { now: clock.now(), service: 'sts' }), 'sts');
  assert.equal(longTerm.mfaAuthenticated, undefined, 'long-term keys carry no MFA key at all');

  const can = (id: typeof longTerm, action: string) =>
    authorize({ principal: id, action, resource: KEY, keyPolicy: MFA_KEY_POLICY, identityPolicies: id.identityPolicies, context: kmsContext({ principal: id, now: clock.now() }) });
  assert.equal(can(longTerm, 'kms:ScheduleKeyDeletion').reason, 'explicitDeny', 'long-term key: BoolIfExists false matches (key absent)');

  const plain = await iam.sts.getSessionToken(longTerm, { durationSeconds: 900 });
  const plainId = await iam.authenticate(signed(plain, { now: clock.now() }), 'kms');
  assert.equal(plainId.mfaAuthenticated, false);
  assert.equal(can(plainId, 'kms:ScheduleKeyDeletion').reason, 'explicitDeny');
  assert.equal(can(plainId, 'kms:DescribeKey').allowed, true);

  clock.advance(30_000); // a new time step, so the enable codes are not reused
  const mfa = await iam.sts.getSessionToken(longTerm, { serialNumber: device.serialNumber, tokenCode: code() });
  assert.match(mfa.accessKeyId, /^ASIA[A-Z2-7]{16}$/);
  assert.equal(mfa.expiration, new Date(clock.ms + 43200_000).toISOString().replace('.000', ''));
  const mfaId = await iam.authenticate(signed(mfa, { now: clock.now() }), 'kms');
  assert.deepEqual([mfaId.mfaAuthenticated, mfaId.arn, mfaId.type], [true, `arn:aws:iam::${ACCOUNT}:user/dana`, 'IAMUser']);
  assert.equal(can(mfaId, 'kms:ScheduleKeyDeletion').allowed, true);

  // the same code is never accepted twice; nor a wrong one
  await assert.rejects(iam.sts.getSessionToken(longTerm, { serialNumber: device.serialNumber, tokenCode: code() }), { name: 'AccessDeniedException', message: 'MultiFactorAuthentication failed with invalid MFA one time pass code. ' });
  await assert.rejects(iam.sts.getSessionToken(longTerm, { serialNumber: device.serialNumber, tokenCode: '000000' === code(1) ? '111111' : '000000' }), { name: 'AccessDeniedException' });
  // session credentials cannot call GetSessionToken
  await assert.rejects(iam.sts.getSessionToken(mfaId, {}), { name: 'AccessDeniedException', message: 'Cannot call GetSessionToken with session credentials' });
  await assert.rejects(iam.sts.getSessionToken(longTerm, { durationSeconds: 100 }), { name: 'ValidationException', message: "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900" });
  await assert.rejects(iam.sts.getSessionToken(longTerm, { durationSeconds: 129601 }), { name: 'ValidationException', message: /less than or equal to 129600$/ });

  // expiry
  clock.advance(901_000);
  await assert.rejects(iam.authenticate(signed(plain, { now: clock.now() }), 'kms'), { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
  // a session's credentials without the token are refused
  await assert.rejects(iam.authenticate(signed({ accessKeyId: mfa.accessKeyId, secretAccessKey: mfa.secretAccessKey }, { now: clock.now() }), 'kms'), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
});

test('AssumeRole issues role sessions named after the role and session', async () => {
  const { iam, key, clock } = await setup();
  const trustDana = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/dana` }, Action: 'sts:AssumeRole' }] });
  const app = await iam.principals.createRole('app', trustDana, { maxSessionDuration: 7200 });
  const dana = await iam.authenticate(signed(key, { now: clock.now(), service: 'sts' }), 'sts');
  const r = await iam.sts.assumeRole(dana, { roleArn: app.arn, roleSessionName: 'job-42', durationSeconds: 7200 });
  assert.deepEqual(r.assumedRoleUser, { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app/job-42`, assumedRoleId: `${app.roleId}:job-42` });
  assert.equal(r.credentials.expiration, new Date(clock.ms + 7200_000).toISOString().replace('.000', ''));
  const sess = await iam.authenticate(signed(r.credentials, { now: clock.now() }), 'kms');
  assert.deepEqual([sess.type, sess.arn, sess.roleArn, sess.sessionName, sess.principalId, sess.mfaAuthenticated], ['AssumedRole', r.assumedRoleUser.arn, app.arn, 'job-42', `${app.roleId}:job-42`, false]);
  assert.deepEqual(iam.sts.getCallerIdentity(sess), { account: ACCOUNT, arn: r.assumedRoleUser.arn, userId: `${app.roleId}:job-42` });
  // aws:PrincipalArn of a role session is the role
  assert.equal(kmsContext({ principal: sess, now: clock.now() })['aws:principalarn'], app.arn);
});

test('AssumeRole denials and limits', async () => {
  const { iam, key, clock, admin } = await setup();
  const trustDana = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/dana` }, Action: 'sts:AssumeRole' }] });
  const trustAccount = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'xyz' } } }] });
  const app = await iam.principals.createRole('app', trustDana, { maxSessionDuration: 7200 });
  await iam.principals.putPolicy('role', 'app', 'use', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] }));
  const ops = await iam.principals.createRole('ops', trustAccount);
  const dana = await iam.authenticate(signed(key, { now: clock.now(), service: 'sts' }), 'sts');
  const root = await iam.authenticate(signed(admin, { now: clock.now(), service: 'sts' }), 'sts');

  // session of 'app': the role's policies apply
  const r = await iam.sts.assumeRole(dana, { roleArn: app.arn, roleSessionName: 'job-42', durationSeconds: 7200 });
  const sess = await iam.authenticate(signed(r.credentials, { now: clock.now() }), 'kms');
  assert.equal(iam.authorizeKms(sess, { action: 'kms:Decrypt', keyArn: '*' }).allowed, true);
  assert.throws(() => iam.authorizeKms(sess, { action: 'kms:Encrypt', keyArn: '*' }), { name: 'AccessDeniedException', message: `User: ${r.assumedRoleUser.arn} is not authorized to perform: kms:Encrypt on resource: * because no identity-based policy allows the kms:Encrypt action` });

  // the admin is not named by app's trust policy
  await assert.rejects(iam.sts.assumeRole(root, { roleArn: app.arn, roleSessionName: 's1' }), { name: 'AccessDeniedException', message: `User: arn:aws:iam::${ACCOUNT}:user/rekey-admin is not authorized to perform: sts:AssumeRole on resource: ${app.arn}` });
  // ops trusts the account: the caller's identity policy must allow sts:AssumeRole (admin: yes, dana: no), and the ExternalId must match
  await iam.sts.assumeRole(root, { roleArn: ops.arn, roleSessionName: 's1', externalId: 'xyz' });
  await assert.rejects(iam.sts.assumeRole(root, { roleArn: ops.arn, roleSessionName: 's1', externalId: 'nope' }), { name: 'AccessDeniedException' });
  await assert.rejects(iam.sts.assumeRole(dana, { roleArn: ops.arn, roleSessionName: 's1', externalId: 'xyz' }), { name: 'AccessDeniedException' });
  // a role that does not exist looks the same as one you may not assume
  await assert.rejects(iam.sts.assumeRole(dana, { roleArn: `arn:aws:iam::${ACCOUNT}:role/ghost`, roleSessionName: 's1' }), { name: 'AccessDeniedException', message: `User: ${dana.arn} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${ACCOUNT}:role/ghost` });
  // durations
  await assert.rejects(iam.sts.assumeRole(dana, { roleArn: app.arn, roleSessionName: 's1', durationSeconds: 7201 }), { name: 'ValidationException', message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' });
  await assert.rejects(iam.sts.assumeRole(dana, { roleArn: app.arn, roleSessionName: 'bad name' }), { name: 'ValidationException', message: /at 'roleSessionName' failed to satisfy constraint/ });
  // role chaining is limited to one hour
  const self = await iam.principals.createRole('chain', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: app.arn }, Action: 'sts:AssumeRole' }] }), { maxSessionDuration: 43200 });
  await assert.rejects(iam.sts.assumeRole(sess, { roleArn: self.arn, roleSessionName: 's2', durationSeconds: 7200 }), { name: 'ValidationException', message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.' });
  const chained = await iam.sts.assumeRole(sess, { roleArn: self.arn, roleSessionName: 's2' });
  assert.equal(chained.assumedRoleUser.arn, `arn:aws:sts::${ACCOUNT}:assumed-role/chain/s2`);

  // deleting the role voids its sessions
  await iam.principals.deletePolicy('role', 'app', 'use');
  await iam.principals.deleteRole('app');
  await assert.rejects(iam.authenticate(signed(r.credentials, { now: clock.now() }), 'kms'), { name: 'UnrecognizedClientException' });
  assert.deepEqual(iam.sts.getCallerIdentity(dana), { account: ACCOUNT, arn: dana.arn, userId: dana.principalId });
});
