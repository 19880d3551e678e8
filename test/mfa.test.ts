// A key policy that requires MFA for the destructive operations (docs/IAM.md): ScheduleKeyDeletion,
// DisableKey and PutKeyPolicy fail with long-term keys and with a session made without MFA, and
// succeed with credentials from STS GetSessionToken given a valid TOTP code from the enrolled device.
// Real SDK, real server, STS as a signed Query-protocol POST; the codes are computed here from the
// device's seed (RFC 6238).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { base32Decode, hotp, timeStep } from '../src/iam/totp.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { allow, getSessionToken, makeUser, type Creds } from './helpers/sts.ts';

const ROOT = 'arn:aws:iam::111122223333:root';
let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.cleanup(); });

const client = (creds: Creds) => new K.KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });

const mfaPolicy = () => JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'Require MFA for destructive actions', Effect: 'Deny', Principal: '*',
      Action: ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:PutKeyPolicy'], Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    },
  ],
});

test('MFA-required deletion, disabling and policy change: denied without MFA, allowed with an MFA session from GetSessionToken', async () => {
  const ops = await makeUser(s.iam, 'ops', allow('kms:*'));
  // The creator (long-term keys, no MFA) could not change this policy later itself: the lockout
  // safety check says so, and the bypass flag acknowledges it (changes will come from MFA sessions).
  await assert.rejects(s.kmsClient().send(new K.CreateKeyCommand({ Policy: mfaPolicy() })),
    (e: Error) => e.name === 'MalformedPolicyDocumentException' && e.message === 'The new key policy will not allow you to update the key policy in the future.');
  const key = (await s.kmsClient().send(new K.CreateKeyCommand({ Policy: mfaPolicy(), BypassPolicyLockoutSafetyCheck: true }))).KeyMetadata!;
  const denied = (who: string, action: string) => `User: ${who} is not authorized to perform: ${action} on resource: ${key.Arn} with an explicit deny in a resource-based policy`;

  // enrol a virtual MFA device for ops with two consecutive codes (as `rekey iam enable-mfa` does)
  const device = await s.iam.mfa.createVirtualDevice('ops-phone');
  const seed = base32Decode(device.base32StringSeed);
  const step = timeStep(Date.now() / 1000);
  await s.iam.mfa.enable('ops', device.serialNumber, hotp(seed, step - 3), hotp(seed, step - 2));

  // long-term access keys: aws:MultiFactorAuthPresent is absent, BoolIfExists matches, the Deny applies
  const longTerm = client(ops.creds);
  await longTerm.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('still usable') }));
  await assert.rejects(longTerm.send(new K.ScheduleKeyDeletionCommand({ KeyId: key.KeyId })), (e: Error) => e.name === 'AccessDeniedException' && e.message === denied(ops.arn, 'kms:ScheduleKeyDeletion'));
  await assert.rejects(longTerm.send(new K.DisableKeyCommand({ KeyId: key.KeyId })), (e: Error) => e.name === 'AccessDeniedException' && e.message === denied(ops.arn, 'kms:DisableKey'));
  await assert.rejects(longTerm.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: mfaPolicy() })), (e: Error) => e.name === 'AccessDeniedException' && e.message === denied(ops.arn, 'kms:PutKeyPolicy'));

  // a session without MFA: aws:MultiFactorAuthPresent is false
  const plain = client(await getSessionToken(s.url, ops.creds, { DurationSeconds: 900 }));
  await assert.rejects(plain.send(new K.DisableKeyCommand({ KeyId: key.KeyId })), (e: Error) => e.name === 'AccessDeniedException' && e.message === denied(ops.arn, 'kms:DisableKey'));

  // a wrong code gets no session at all
  const wrong = String((Number(hotp(seed, step)) + 1) % 1_000_000).padStart(6, '0');
  await assert.rejects(getSessionToken(s.url, ops.creds, { SerialNumber: device.serialNumber, TokenCode: wrong }),
    (e: Error) => e.name === 'AccessDenied' && e.message === 'MultiFactorAuthentication failed with invalid MFA one time pass code. ');

  // an MFA session: the three operations succeed
  const code = hotp(seed, timeStep(Date.now() / 1000));
  const mfa = client(await getSessionToken(s.url, ops.creds, { DurationSeconds: 900, SerialNumber: device.serialNumber, TokenCode: code }));
  await mfa.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: mfaPolicy() }));
  await mfa.send(new K.DisableKeyCommand({ KeyId: key.KeyId }));
  const del = await mfa.send(new K.ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
  assert.equal(del.KeyState, 'PendingDeletion');

  // the same code is never accepted twice
  await assert.rejects(getSessionToken(s.url, ops.creds, { SerialNumber: device.serialNumber, TokenCode: code }), (e: Error) => e.name === 'AccessDenied');
});
