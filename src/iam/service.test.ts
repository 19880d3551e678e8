// The per-request path a KMS operation takes (authenticate, then authorizeKms), exercised with
// every kind of caller the authorization matrix names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, signed, testIam } from './testing.ts';
import { defaultKeyPolicy } from './policy/key-policy.ts';
import type { SignedRequest } from './sigv4.ts';

const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

test('authorization matrix for kms:Encrypt at the library level', async () => {
  const { iam, clock } = await testIam();
  const user = await iam.principals.createUser('app');
  const other = await iam.principals.createUser('other');
  const userKey = await iam.accessKeys.create(user);
  const otherKey = await iam.accessKeys.create(other);
  const keyPolicy = defaultKeyPolicy({ accountId: ACCOUNT, administrators: [], users: [user.arn] });
  const body = JSON.stringify({ KeyId: KEY, Plaintext: 'aGk=', EncryptionContext: { tenant: 'a' } });
  const encrypt = async (req: SignedRequest) => {
    const id = await iam.authenticate(req, 'kms');
    return iam.authorizeKms(id, { action: 'kms:Encrypt', keyArn: KEY, keyPolicy, request: { encryptionContext: { tenant: 'a' }, sourceIp: '127.0.0.1', secureTransport: false } });
  };
  const req = (creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, at = clock.now()) => signed(creds, { now: at, body });

  // allowed principal
  assert.deepEqual((await encrypt(req(userKey))).matched, [{ policy: 'resource', index: 1, sid: 'Allow use of the key', effect: 'Allow' }]);
  // denied principal
  await assert.rejects(encrypt(req(otherKey)), { name: 'AccessDeniedException', message: `User: ${other.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no identity-based policy allows the kms:Encrypt action` });
  // unknown access key
  await assert.rejects(encrypt(req({ accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x' })), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  // bad signature
  await assert.rejects(encrypt(req({ ...userKey, secretAccessKey: userKey.secretAccessKey.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) })), { name: 'InvalidSignatureException', message: /^The request signature we calculated does not match/ });
  // stale X-Amz-Date
  await assert.rejects(encrypt(req(userKey, new Date(clock.ms - 6 * 60_000))), { name: 'InvalidSignatureException', message: /^Signature expired: / });
  // temporary credentials without their session token
  const id = await iam.authenticate(req(userKey), 'kms');
  const session = await iam.sts.getSessionToken(id, {});
  assert.equal((await encrypt(req(session))).allowed, true);
  await assert.rejects(encrypt(req({ accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey })), { name: 'UnrecognizedClientException' });
  // an expired session
  clock.advance(43200_000);
  await assert.rejects(encrypt(req(session)), { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
});

test('an encryption-context condition in the key policy is enforced through the request facts', async () => {
  const { iam, clock } = await testIam();
  const user = await iam.principals.createUser('tenant-a');
  const k = await iam.accessKeys.create(user);
  const keyPolicy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: user.arn }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'a' } } }] });
  const id = await iam.authenticate(signed(k, { now: clock.now() }), 'kms');
  assert.equal(iam.authorizeKms(id, { action: 'kms:Decrypt', keyArn: KEY, keyPolicy, request: { encryptionContext: { Tenant: 'a' } } }).allowed, true, 'context keys are case-insensitive');
  assert.throws(() => iam.authorizeKms(id, { action: 'kms:Decrypt', keyArn: KEY, keyPolicy, request: { encryptionContext: { tenant: 'b' } } }), { name: 'AccessDeniedException', message: /because no resource-based policy allows the kms:Decrypt action$/ });
  assert.throws(() => iam.authorizeKms(id, { action: 'kms:Decrypt', keyArn: KEY, keyPolicy }), { name: 'AccessDeniedException' });
});
