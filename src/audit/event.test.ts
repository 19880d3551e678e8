import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessDeniedException, ValidationException } from '../errors.ts';
import { adminEvent, isMutating, kmsApiEvent, secretsApiEvent, serviceEvent, stsApiEvent } from './event.ts';
import { ACCOUNT, CALLER, KEY_ARN, KEY_ID } from './testing.ts';

const base = { caller: CALLER, requestId: 'r-1', sourceIp: '192.0.2.7', userAgent: 'aws-sdk-js/3', region: 'us-east-1', now: new Date('2024-05-01T12:00:00.123Z'), eventId: 'ev-1' };

test('Encrypt: key, context and algorithm recorded as CloudTrail does; plaintext and ciphertext never', () => {
  const e = kmsApiEvent({
    ...base, operation: 'Encrypt',
    input: { KeyId: KEY_ID, Plaintext: 'c2VjcmV0LXBsYWludGV4dA==', EncryptionContext: { dept: 'pay' }, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', GrantTokens: ['tok'] },
    output: { KeyId: KEY_ARN, CiphertextBlob: 'AQIDBAUG', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
  });
  assert.deepEqual(e, {
    eventVersion: '1.11',
    eventTime: '2024-05-01T12:00:00Z',
    eventSource: 'kms.amazonaws.com',
    eventName: 'Encrypt',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.7',
    userAgent: 'aws-sdk-js/3',
    userIdentity: { type: 'IAMUser', arn: CALLER.arn, accountId: ACCOUNT, accessKeyId: CALLER.accessKeyId },
    requestParameters: { keyId: KEY_ID, encryptionContext: { dept: 'pay' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    responseElements: null,
    requestID: 'r-1',
    eventID: 'ev-1',
    readOnly: true,
    resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: KEY_ARN }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: ACCOUNT,
  });
});

test('CreateKey records keyMetadata with CloudTrail member names; ScheduleKeyDeletion its response', () => {
  const created = kmsApiEvent({
    ...base, operation: 'CreateKey',
    input: { Description: 'orders', KeyUsage: 'ENCRYPT_DECRYPT', Tags: [{ TagKey: 'team', TagValue: 'pay' }] },
    output: { KeyMetadata: { AWSAccountId: ACCOUNT, KeyId: KEY_ID, Arn: KEY_ARN, CreationDate: 1714564800, Enabled: true, KeyState: 'Enabled', EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], SecretInternal: 'x' } },
  });
  assert.deepEqual(created.requestParameters, { description: 'orders', keyUsage: 'ENCRYPT_DECRYPT', tags: [{ tagKey: 'team', tagValue: 'pay' }] });
  assert.deepEqual(created.responseElements, {
    keyMetadata: { aWSAccountId: ACCOUNT, keyId: KEY_ID, arn: KEY_ARN, creationDate: '2024-05-01T12:00:00.000Z', enabled: true, keyState: 'Enabled', encryptionAlgorithms: ['SYMMETRIC_DEFAULT'] },
  });
  assert.equal(created.readOnly, false);
  assert.deepEqual(created.resources.map((r) => r.ARN), [KEY_ARN]);
  const sched = kmsApiEvent({ ...base, operation: 'ScheduleKeyDeletion', input: { KeyId: KEY_ARN, PendingWindowInDays: 7 }, output: { KeyId: KEY_ARN, DeletionDate: 1715169600, KeyState: 'PendingDeletion', PendingWindowInDays: 7 } });
  assert.deepEqual(sched.requestParameters, { keyId: KEY_ARN, pendingWindowInDays: 7 });
  assert.deepEqual(sched.responseElements, { keyId: KEY_ARN, deletionDate: '2024-05-08T12:00:00.000Z', keyState: 'PendingDeletion', pendingWindowInDays: 7 });
  assert.equal(kmsApiEvent({ ...base, operation: 'CreateAlias', input: { AliasName: 'alias/orders', TargetKeyId: KEY_ID } }).requestParameters?.aliasName, 'alias/orders');
});

test('the allowlist drops unknown members, non-scalar values under allowed names, and everything of unknown operations', () => {
  const e = kmsApiEvent({
    ...base, operation: 'GenerateDataKey',
    input: { KeyId: Buffer.from('not-a-string'), KeySpec: 'AES_256', NumberOfBytes: 32, EncryptionContext: { a: 'b', nested: { x: 1 } }, FutureField: 'secret-material' },
    output: { Plaintext: 'ZGF0YWtleQ==', CiphertextBlob: 'AQID', KeyId: KEY_ARN },
  });
  assert.deepEqual(e.requestParameters, { keySpec: 'AES_256', numberOfBytes: 32, encryptionContext: { a: 'b' } });
  assert.equal(e.responseElements, null);
  const unknown = kmsApiEvent({ ...base, operation: 'ExportKeyMaterial', input: { KeyId: KEY_ID, Material: 'abc' } });
  assert.equal(unknown.requestParameters, null);
  assert.equal(unknown.readOnly, false);
  assert.equal(kmsApiEvent({ ...base, operation: 'Bad Op!', input: {} }).eventName, 'UnknownOperation');
});

test('readOnly and mutating follow CloudTrail: Describe/List/Get and data-plane calls are read-only', () => {
  for (const op of ['DescribeKey', 'ListKeys', 'ListAliases', 'GetKeyPolicy', 'GetKeyRotationStatus', 'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateRandom']) {
    assert.equal(isMutating('kms', op), false, op);
  }
  for (const op of ['CreateKey', 'ScheduleKeyDeletion', 'RotateKeyOnDemand', 'PutKeyPolicy', 'CreateAlias', 'DisableKey', 'SomethingNew']) {
    assert.equal(isMutating('kms', op), true, op);
  }
  assert.equal(isMutating('secretsmanager', 'GetSecretValue'), false);
  assert.equal(isMutating('secretsmanager', 'PutSecretValue'), true);
});

test('denied and failed calls carry errorCode/errorMessage; messages never repeat excluded values', () => {
  const denied = kmsApiEvent({ ...base, operation: 'Decrypt', input: { CiphertextBlob: 'AQIDBA==' }, error: new AccessDeniedException('User: alice is not authorized to perform: kms:Decrypt') });
  assert.equal(denied.errorCode, 'AccessDeniedException');
  assert.equal(denied.errorMessage, 'User: alice is not authorized to perform: kms:Decrypt');
  assert.equal(denied.responseElements, null);
  const plaintext = Buffer.from('the launch codes are 1234');
  const echo = kmsApiEvent({
    ...base, operation: 'Encrypt',
    input: { KeyId: KEY_ID, Plaintext: plaintext.toString('base64') },
    error: new ValidationException(`bad value ${plaintext.toString('base64')} / ${plaintext.toString('hex')} / ${plaintext.toString('utf8')}`),
  });
  assert.equal(echo.errorMessage, 'bad value [REDACTED] / [REDACTED] / [REDACTED]');
  const internal = kmsApiEvent({ ...base, operation: 'Encrypt', input: {}, error: new Error('pg: password authentication failed for hunter2') });
  assert.deepEqual([internal.errorCode, internal.errorMessage], ['InternalFailure', 'An internal error occurred.']);
});

test('unauthenticated callers are recorded as Unknown with the claimed access key id', () => {
  const e = kmsApiEvent({ ...base, caller: { accessKeyId: 'AKIAUNKNOWN000000000' }, operation: 'ListKeys', input: {}, error: new AccessDeniedException('invalid signature') });
  assert.deepEqual(e.userIdentity, { type: 'Unknown', accessKeyId: 'AKIAUNKNOWN000000000' });
  assert.equal(e.recipientAccountId, '');
  const mfa = kmsApiEvent({ ...base, caller: { ...CALLER, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ops/bob`, mfaAuthenticated: true }, operation: 'ListKeys', input: {} });
  assert.deepEqual(mfa.userIdentity.sessionContext, { attributes: { mfaAuthenticated: 'true' } });
  assert.equal(mfa.userIdentity.type, 'AssumedRole');
});

test('Secrets Manager: SecretString and passwords never recorded; names and version ids are', () => {
  const e = secretsApiEvent({
    ...base, operation: 'PutSecretValue',
    input: { SecretId: 'prod/db', SecretString: '{"password":"hunter2"}', ClientRequestToken: 'tok-1' },
    output: { ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf', Name: 'prod/db', VersionId: 'v2', VersionStages: ['AWSCURRENT'] },
  });
  assert.equal(e.eventSource, 'secretsmanager.amazonaws.com');
  assert.deepEqual(e.requestParameters, { secretId: 'prod/db', clientRequestToken: 'tok-1' });
  assert.deepEqual(e.responseElements, { aRN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf', name: 'prod/db', versionId: 'v2', versionStages: ['AWSCURRENT'] });
  assert.equal(e.resources[0]?.type, 'AWS::SecretsManager::Secret');
  assert.ok(!JSON.stringify(e).includes('hunter2'));
  const pw = secretsApiEvent({ ...base, operation: 'GetRandomPassword', input: { PasswordLength: 32 }, output: { RandomPassword: 'Zx9!pass-word-value' } });
  assert.ok(!JSON.stringify(pw).includes('pass-word-value'));
});

test('adminEvent copies only allowed scalar members and never sensitive names, even when allowed', () => {
  const e = adminEvent({
    ...base, action: 'CreateAccessKey',
    input: { principalArn: CALLER.arn, secretAccessKey: 'wJalrXUtnFEMI/K7MDENG', note: { nested: 1 } },
    allow: ['principalArn', 'secretAccessKey', 'note'],
    output: { accessKeyId: 'AKIANEW0000000000000', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' },
    allowResponse: ['accessKeyId', 'secretAccessKey'],
  });
  assert.equal(e.eventSource, 'rekey.admin');
  assert.deepEqual(e.requestParameters, { principalArn: CALLER.arn });
  assert.deepEqual(e.responseElements, { accessKeyId: 'AKIANEW0000000000000' });
  assert.equal(e.readOnly, false);
  assert.equal(adminEvent({ ...base, action: 'ListAccessKeys' }).readOnly, true);
});

test('serviceEvent: RotateKey and DeleteKey as AwsServiceEvent, invoked by the service', () => {
  const e = serviceEvent({ eventName: 'RotateKey', region: 'us-east-1', accountId: ACCOUNT, resources: [KEY_ARN], details: { keyId: KEY_ARN, rotationType: 'AUTOMATIC', keyMaterialPassword: 'x', keyMaterialId: 'm-1' }, now: base.now, eventId: 'svc-1' });
  assert.equal(e.eventType, 'AwsServiceEvent');
  assert.deepEqual(e.userIdentity, { type: 'AWSService', accountId: ACCOUNT, invokedBy: 'kms.amazonaws.com' });
  assert.deepEqual(e.additionalEventData, { keyId: KEY_ARN, rotationType: 'AUTOMATIC', keyMaterialId: 'm-1' }, 'the material id is kept, a sensitive-named field dropped');
  assert.deepEqual(e.resources, [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: KEY_ARN }]);
  assert.equal(e.requestID, 'svc-1');
  assert.equal(e.readOnly, false);
});

test('STS: the temporary key id and expiry are recorded, the secret, token and MFA code never', () => {
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/ops`;
  const e = stsApiEvent({
    ...base, operation: 'AssumeRole',
    input: { RoleArn: roleArn, RoleSessionName: 'bob', SerialNumber: 'arn:aws:iam::111122223333:mfa/bob', TokenCode: '123456' },
    output: { Credentials: { AccessKeyId: 'ASIATEMP000000000001', SecretAccessKey: 'tmp-secret-value-xyz', SessionToken: 'FwoGZXIvYXdzEXAMPLE', Expiration: 1714564800 }, AssumedRoleUser: { Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ops/bob`, AssumedRoleId: 'AROA1:bob' } },
  });
  assert.equal(e.eventSource, 'sts.amazonaws.com');
  assert.deepEqual(e.requestParameters, { roleArn, roleSessionName: 'bob', serialNumber: 'arn:aws:iam::111122223333:mfa/bob' });
  assert.deepEqual(e.responseElements, { assumedRoleUser: { assumedRoleId: 'AROA1:bob', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ops/bob` }, credentials: { accessKeyId: 'ASIATEMP000000000001', expiration: '2024-05-01T12:00:00.000Z' } });
  assert.deepEqual(e.resources, [{ accountId: ACCOUNT, type: 'AWS::IAM::Role', ARN: roleArn }]);
  for (const secret of ['123456', 'tmp-secret-value-xyz', 'FwoGZXIvYXdzEXAMPLE']) assert.ok(!JSON.stringify(e).includes(secret), secret);
});

test('admin actions named as permissions become CloudTrail event names', () => {
  const e = adminEvent({ ...base, action: 'rekey:ListJobs' });
  assert.deepEqual([e.eventName, e.eventSource, e.readOnly], ['ListJobs', 'rekey.admin', true]);
  const iam = adminEvent({ ...base, action: 'iam:CreateUser', eventSource: 'iam.amazonaws.com' });
  assert.deepEqual([iam.eventName, iam.eventSource, iam.readOnly], ['CreateUser', 'iam.amazonaws.com', false]);
  assert.equal(adminEvent({ ...base, action: 'iam:Create User' }).eventName, 'UnknownAdminAction');
});

test('an operation named like an Object.prototype member ("constructor", "__proto__") is an unknown operation, not a crash', () => {
  for (const operation of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const e = kmsApiEvent({ operation, input: { KeyId: KEY_ID }, caller: CALLER, requestId: 'r', sourceIp: '10.0.0.1', userAgent: 'ua', region: 'us-east-1', now: new Date(), error: new ValidationException('no such operation') });
    assert.equal(e.requestParameters, null);
    assert.equal(e.readOnly, false);
    assert.equal(isMutating('rds', operation), true);
  }
});
