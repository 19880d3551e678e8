// Issue 17, item 9: SecretIds that can be no stored name (NUL, tab, DEL, non-ASCII, longer than
// 512 bytes) answered 500 on every secret-id operation, because the storage key check threw a
// RangeError. AWS's model (botocore secretsmanager/2017-10-17 service-2.json, SecretIdType:
// min 1, max 2048, no pattern) accepts them, and no secret carries such a name, so AWS answers
// ResourceNotFoundException "Secrets Manager can't find the specified secret."; longer than 2048
// is a model violation (ValidationException).
// Issue 19: AWS answers a name-form SecretId with a character outside the name alphabet with
// ValidationException "Invalid name. ..." on every operation (LocalStack
// tests/aws/services/secretsmanager/test_secretsmanager.snapshot.json, test_invalid_secret_name,
// ex_log_1..10: space, `*`, `?`, `]`, `\`). NUL, tab, DEL and non-ASCII are not in that recording;
// rekey treats them the same way (one alphabet check). ARNs and over-long names of valid
// characters stay ResourceNotFoundException.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetSecretValueCommand, PutSecretValueCommand, DescribeSecretCommand, UpdateSecretCommand, DeleteSecretCommand,
  RestoreSecretCommand, TagResourceCommand, UntagResourceCommand, ListSecretVersionIdsCommand, UpdateSecretVersionStageCommand,
  GetResourcePolicyCommand, PutResourcePolicyCommand, DeleteResourcePolicyCommand, RotateSecretCommand, CancelRotateSecretCommand,
  BatchGetSecretValueCommand, ListSecretsCommand, type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startTestServer, type TestServer } from './helpers/server.ts';

let s: TestServer;
let sm: SecretsManagerClient;
before(async () => {
  s = await startTestServer();
  sm = s.secretsClient();
});
after(async () => { await s.cleanup(); });

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:';
const BAD_CHAR_IDS = ['a\u0000b', 'caf\u00e9', 'a\tb', 'a\u007fb', 'a b'];
const BAD_IDS = ['x'.repeat(513), 'x'.repeat(2048), `${ARN_PREFIX}a\u0000b-AbCdEf`, `${ARN_PREFIX}${'y'.repeat(1000)}`];
const INVALID_NAME = 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!';

function operations(id: string) {
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'secretsmanager:GetSecretValue', Resource: '*' }] });
  return [
    new GetSecretValueCommand({ SecretId: id }), new DescribeSecretCommand({ SecretId: id }),
    new PutSecretValueCommand({ SecretId: id, SecretString: 'v' }), new UpdateSecretCommand({ SecretId: id, Description: 'd' }),
    new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }), new RestoreSecretCommand({ SecretId: id }),
    new TagResourceCommand({ SecretId: id, Tags: [{ Key: 'k', Value: 'v' }] }), new UntagResourceCommand({ SecretId: id, TagKeys: ['k'] }),
    new ListSecretVersionIdsCommand({ SecretId: id }),
    new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'S', MoveToVersionId: 'a'.repeat(36) }),
    new GetResourcePolicyCommand({ SecretId: id }), new PutResourcePolicyCommand({ SecretId: id, ResourcePolicy: policy }),
    new DeleteResourcePolicyCommand({ SecretId: id }), new RotateSecretCommand({ SecretId: id, RotateImmediately: false }),
    new CancelRotateSecretCommand({ SecretId: id }),
  ] as const;
}

async function expectAll(ids: readonly string[], name: string, message: string): Promise<void> {
  for (const id of ids) {
    for (const cmd of operations(id)) {
      const err = await sm.send(cmd as never).then(() => undefined, (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number } });
      const what = `${cmd.constructor.name} ${JSON.stringify(id.slice(0, 40))}`;
      assert.ok(err, `${what} succeeded`);
      assert.equal(err.name, name, `${what}: ${err.name} ${err.message}`);
      assert.equal(err.message, message, what);
      assert.equal(err.$metadata.httpStatusCode, 400, what);
    }
  }
}

test('SecretIds over 512 bytes or ARNs no secret can have: ResourceNotFoundException on every secret-id operation, never 500', async () => {
  await expectAll(BAD_IDS, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
});

test('name-form SecretIds with NUL, non-ASCII, tab, DEL or space: ValidationException "Invalid name" on every secret-id operation', async () => {
  await expectAll(BAD_CHAR_IDS, 'ValidationException', INVALID_NAME);
});

test('BatchGetSecretValue names a bad SecretId in its errors; ListSecrets with a bad NextToken is not a 500', async () => {
  const r = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ['a\u0000b', 'caf\u00e9'] }));
  assert.deepEqual(r.Errors?.map((e) => e.ErrorCode), ['ValidationException', 'ValidationException']);
  const list = await sm.send(new ListSecretsCommand({ NextToken: 'a\u0000\u00e9' })).then((x) => x.SecretList?.length ?? 0, (e: { name: string; $metadata: { httpStatusCode?: number } }) => e);
  if (typeof list !== 'number') {
    assert.ok((list.$metadata.httpStatusCode ?? 500) < 500, `ListSecrets: ${list.name}`);
    assert.equal(list.name, 'InvalidNextTokenException');
  }
});

test('a SecretId over 2048 characters is a model violation: ValidationException', async () => {
  const err = await sm.send(new GetSecretValueCommand({ SecretId: 'x'.repeat(2049) })).then(() => undefined, (e: { name: string; message: string }) => e);
  assert.equal(err?.name, 'ValidationException');
  assert.match(err?.message ?? '', /at 'secretId' failed to satisfy constraint: Member must have length less than or equal to 2048$/);
});
