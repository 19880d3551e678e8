// Secrets Manager through the real @aws-sdk/client-secrets-manager against a real rekey server:
// every operation, every label movement, AWS exception names and messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, DescribeSecretCommand, ListSecretsCommand,
  ListSecretVersionIdsCommand, UpdateSecretVersionStageCommand, UpdateSecretCommand, DeleteSecretCommand, RestoreSecretCommand,
  GetRandomPasswordCommand, TagResourceCommand, UntagResourceCommand, BatchGetSecretValueCommand,
  PutResourcePolicyCommand, GetResourcePolicyCommand, DeleteResourcePolicyCommand, ValidateResourcePolicyCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { rejects } from '../src/kms/testing.ts';

let s: TestServer;
let sm: SecretsManagerClient;
before(async () => {
  s = await startTestServer();
  sm = s.secretsClient();
});
after(async () => { await s.cleanup(); });

const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;
const TOKEN = (c: string) => c.repeat(36).slice(0, 36);

async function stages(id: string): Promise<Record<string, string[]>> {
  const d = await sm.send(new DescribeSecretCommand({ SecretId: id }));
  return d.VersionIdsToStages ?? {};
}

test('CreateSecret / GetSecretValue: string and binary, ARN suffix, name and ARN lookup', async () => {
  const name = uniq('app/db');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"p1"}', Description: 'd', Tags: [{ Key: 'team', Value: 'a' }] }));
  assert.match(c.ARN!, new RegExp(`^arn:aws:secretsmanager:us-east-1:111122223333:secret:${name.replace('/', '\\/')}-[A-Za-z0-9]{6}$`));
  assert.ok(c.VersionId);
  const byName = await sm.send(new GetSecretValueCommand({ SecretId: name }));
  assert.equal(byName.SecretString, '{"password":"p1"}');
  assert.deepEqual(byName.VersionStages, ['AWSCURRENT']);
  const byArn = await sm.send(new GetSecretValueCommand({ SecretId: c.ARN }));
  assert.equal(byArn.VersionId, c.VersionId);
  const bin = await sm.send(new CreateSecretCommand({ Name: uniq('bin'), SecretBinary: new Uint8Array([1, 2, 3]) }));
  const gb = await sm.send(new GetSecretValueCommand({ SecretId: bin.ARN }));
  assert.deepEqual([...gb.SecretBinary!], [1, 2, 3]);
  assert.equal(gb.SecretString, undefined);
  await rejects(sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' })), 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: uniq('missing') })), 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  await rejects(sm.send(new CreateSecretCommand({ Name: 'bad name!' })), 'ValidationException', /Invalid name/);
  await rejects(sm.send(new CreateSecretCommand({ Name: uniq('both'), SecretString: 'a', SecretBinary: new Uint8Array([1]) })), 'InvalidParameterException', /both a binary secret value and a string/);
  // AWS's maximum value is 65536 bytes; the default body limit (512 KiB) lets it through to validation
  const max = await sm.send(new CreateSecretCommand({ Name: uniq('max'), SecretString: 'x'.repeat(65536) }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: max.ARN }))).SecretString?.length, 65536);
  await rejects(sm.send(new CreateSecretCommand({ Name: uniq('big'), SecretString: 'x'.repeat(65537) })), 'ValidationException', /Member must have length less than or equal to 65536/);
});

test('ClientRequestToken idempotency: same value succeeds, a different value is ResourceExistsException', async () => {
  const name = uniq('idem');
  const t = TOKEN('a');
  const c1 = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: t }));
  const c2 = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'v1', ClientRequestToken: t }));
  assert.equal(c1.VersionId, t);
  assert.equal(c2.ARN, c1.ARN);
  const t2 = TOKEN('b');
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: t2 }));
  const again = await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2', ClientRequestToken: t2 }));
  assert.equal(again.VersionId, t2);
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'other', ClientRequestToken: t2 })), 'ResourceExistsException', /^You can't use ClientRequestToken .* because that value is already in use for a version of secret arn:/);
  assert.equal(Object.keys(await stages(name)).length, 2);
});

test('labels: PutSecretValue moves AWSCURRENT and AWSPREVIOUS; VersionStages leaves AWSCURRENT; UpdateSecretVersionStage moves and removes', async () => {
  const name = uniq('labels');
  const v1 = (await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }))).VersionId!;
  const v2 = (await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'two' }))).VersionId!;
  assert.deepEqual(await stages(name), { [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });
  const v3 = (await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'three' }))).VersionId!;
  // v1 lost AWSPREVIOUS: it is deprecated (no labels) and not shown
  assert.deepEqual(await stages(name), { [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT'] });
  const p = await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'four', VersionStages: ['AWSPENDING', 'custom'] }));
  assert.deepEqual(p.VersionStages, ['AWSPENDING', 'custom']);
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 'three');
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }))).SecretString, 'four');
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1 }))).SecretString, 'one');
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'nope' })), 'ResourceNotFoundException', /staging label: nope/);
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: v1, VersionStage: 'AWSCURRENT' })), 'InvalidRequestException', /not associated/);
  // move AWSCURRENT without naming the current holder
  await rejects(sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: p.VersionId })), 'InvalidParameterException', new RegExp(`currently attached to version ${v3}`));
  await rejects(sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: p.VersionId, RemoveFromVersionId: v2 })), 'InvalidParameterException', /must be set to the version that currently has/);
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: p.VersionId, RemoveFromVersionId: v3 }));
  assert.deepEqual(await stages(name), { [v3]: ['AWSPREVIOUS'], [p.VersionId!]: ['AWSPENDING', 'custom', 'AWSCURRENT'] });
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSPENDING', RemoveFromVersionId: p.VersionId }));
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'custom', MoveToVersionId: v1, RemoveFromVersionId: p.VersionId }));
  assert.deepEqual(await stages(name), { [v1]: ['custom'], [v3]: ['AWSPREVIOUS'], [p.VersionId!]: ['AWSCURRENT'] });
  await rejects(sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', RemoveFromVersionId: p.VersionId })), 'InvalidParameterException', /can.t be completely removed/);
  const ids = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
  assert.equal(ids.Versions!.length, 3);
  const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
  assert.equal(all.Versions!.length, 4);
  const page = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 3 }));
  assert.equal(page.Versions!.length, 3);
  const rest = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true, MaxResults: 3, NextToken: page.NextToken }));
  assert.equal(rest.Versions!.length, 1);
  assert.equal(rest.NextToken, undefined);
});

test('UpdateSecret, DescribeSecret, tags, ListSecrets filters and pagination, BatchGetSecretValue', async () => {
  const prefix = uniq('list');
  const arns: string[] = [];
  for (let i = 0; i < 5; i++) arns.push((await sm.send(new CreateSecretCommand({ Name: `${prefix}/s${i}`, SecretString: `v${i}`, Tags: [{ Key: 'env', Value: i % 2 ? 'prod' : 'dev' }] }))).ARN!);
  const u = await sm.send(new UpdateSecretCommand({ SecretId: arns[0], Description: 'new desc', SecretString: 'v0b' }));
  assert.ok(u.VersionId);
  const d = await sm.send(new DescribeSecretCommand({ SecretId: arns[0] }));
  assert.equal(d.Description, 'new desc');
  assert.equal(d.RotationEnabled, undefined); // AWS omits it until rotation is configured (test/secrets-fidelity.test.ts)
  assert.deepEqual(d.Tags, [{ Key: 'env', Value: 'dev' }]);
  await sm.send(new TagResourceCommand({ SecretId: arns[0], Tags: [{ Key: 'owner', Value: 'me' }] }));
  await sm.send(new UntagResourceCommand({ SecretId: arns[0], TagKeys: ['env'] }));
  assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: arns[0] }))).Tags, [{ Key: 'owner', Value: 'me' }]);
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await sm.send(new ListSecretsCommand({ MaxResults: 2, NextToken: token, Filters: [{ Key: 'name', Values: [prefix] }] }));
    assert.ok(page.SecretList!.length <= 2);
    seen.push(...page.SecretList!.map((x) => x.ARN!));
    token = page.NextToken;
  } while (token);
  assert.deepEqual(seen.sort(), [...arns].sort());
  const prod = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }, { Key: 'tag-value', Values: ['prod'] }] }));
  assert.equal(prod.SecretList!.length, 2);
  await rejects(sm.send(new ListSecretsCommand({ NextToken: 'garbage' })), 'InvalidNextTokenException', 'The NextToken value is invalid.');
  const b = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: [arns[1]!, arns[2]!, uniq('nope')] }));
  assert.deepEqual(b.SecretValues!.map((x) => x.SecretString).sort(), ['v1', 'v2']);
  assert.equal(b.Errors![0]!.ErrorCode, 'ResourceNotFoundException');
  const bf = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }));
  assert.equal(bf.SecretValues!.length, 5);
});

test('DeleteSecret with a recovery window, RestoreSecret, ForceDeleteWithoutRecovery', async () => {
  const name = uniq('del');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 3 })), 'InvalidParameterException', 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })), 'InvalidParameterException', /in conjunction with RecoveryWindowInDays/);
  const del = await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
  const days = (del.DeletionDate!.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 6.9 && days <= 7.01, String(days));
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name })), 'InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'y' })), 'InvalidRequestException', /marked for deletion/);
  assert.ok((await sm.send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate);
  const listed = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }));
  assert.equal(listed.SecretList!.length, 0);
  const planned = await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true, Filters: [{ Key: 'name', Values: [name] }] }));
  assert.equal(planned.SecretList!.length, 1);
  await sm.send(new RestoreSecretCommand({ SecretId: name }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 'x');
  await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  await rejects(sm.send(new DescribeSecretCommand({ SecretId: name })), 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  // the name is free again
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'z' }));
});

test('GetRandomPassword: defaults, exclusions, each type required', async () => {
  const p = (await sm.send(new GetRandomPasswordCommand({}))).RandomPassword!;
  assert.equal(p.length, 32);
  assert.match(p, /[a-z]/);
  assert.match(p, /[A-Z]/);
  assert.match(p, /[0-9]/);
  const q = (await sm.send(new GetRandomPasswordCommand({ PasswordLength: 64, ExcludePunctuation: true, ExcludeCharacters: 'abc' }))).RandomPassword!;
  assert.match(q, /^[d-zA-Z0-9]{64}$/);
  await rejects(sm.send(new GetRandomPasswordCommand({ ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true })), 'InvalidParameterException', /every character type is excluded/);
  await rejects(sm.send(new GetRandomPasswordCommand({ PasswordLength: 5000 })), 'ValidationException', /passwordLength/);
});

test('customer managed key: KmsKeyId is used and the secret is a dependent of the key', async () => {
  const kms = s.kmsClient();
  const key = await kms.send(new CreateKeyCommand({}));
  const keyId = key.KeyMetadata!.KeyId!;
  const name = uniq('cmk');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'under cmk', KmsKeyId: keyId }));
  assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: name }))).KmsKeyId, keyId);
  const deps = await s.kms.dependents.list(keyId);
  assert.equal(deps.dependents.length, 1);
  assert.equal(deps.dependents[0]!.name, name);
  const v = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
  assert.deepEqual(v.Versions![0]!.KmsKeyIds, [key.KeyMetadata!.Arn]);
  await rejects(sm.send(new CreateSecretCommand({ Name: uniq('nokey'), SecretString: 'x', KmsKeyId: '00000000-0000-0000-0000-000000000000' })), 'EncryptionFailure', /can't encrypt the protected secret text/);
  // a disabled key (forced past the dependents guard by an administrator)
  await s.kms.lifecycle.admin().disableKey(keyId, true);
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name })), 'DecryptionFailure', "Secrets Manager can't decrypt the protected secret text using the provided KMS key.");
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'new' })), 'EncryptionFailure', /can't encrypt the protected secret text/);
  await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  assert.equal((await s.kms.dependents.list(keyId)).dependents.length, 0);
});

test('UpdateSecret KmsKeyId: labelled versions are encrypted again under the new key, the old ciphertext kept; dependents follow', async () => {
  const kms = s.kmsClient();
  const k1 = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const k2 = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const name = uniq('rekey');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'first', KmsKeyId: k1.Arn }));
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'second' }));
  await sm.send(new UpdateSecretCommand({ SecretId: name, KmsKeyId: k2.KeyId }));
  assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: name }))).KmsKeyId, k2.KeyId);
  const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }))).Versions!;
  assert.deepEqual(versions.map((v) => v.KmsKeyIds), [[k2.Arn], [k2.Arn]]);
  assert.deepEqual((await s.kms.dependents.list(k2.KeyId!)).dependents.map((d) => d.name), [name]);
  assert.equal((await s.kms.dependents.list(k1.KeyId!)).dependents.length, 0);
  // either key decrypts: the old one disabled, then the new one disabled and the old one enabled again
  await s.kms.lifecycle.admin().disableKey(k1.KeyId!, true);
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 'second');
  await s.kms.lifecycle.admin().disableKey(k2.KeyId!, true);
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name })), 'DecryptionFailure', /can't decrypt/);
  const { EnableKeyCommand } = await import('@aws-sdk/client-kms');
  await kms.send(new EnableKeyCommand({ KeyId: k1.KeyId }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }))).SecretString, 'first');
});

test('resource policies: validate, block public, put/get/delete', async () => {
  const name = uniq('pol');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
  const pub = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }] });
  const v = await sm.send(new ValidateResourcePolicyCommand({ ResourcePolicy: pub }));
  assert.equal(v.PolicyValidationPassed, false);
  await rejects(sm.send(new ValidateResourcePolicyCommand({ ResourcePolicy: '{not json' })), 'MalformedPolicyDocumentException', /.+/);
  await rejects(sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: pub, BlockPublicPolicy: true })), 'PublicPolicyException', /did not prevent broad access/);
  const ok = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'secretsmanager:GetSecretValue', Resource: '*' }] });
  await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: ok, BlockPublicPolicy: true }));
  assert.equal((await sm.send(new GetResourcePolicyCommand({ SecretId: c.ARN }))).ResourcePolicy, ok);
  await sm.send(new DeleteResourcePolicyCommand({ SecretId: name }));
  assert.equal((await sm.send(new GetResourcePolicyCommand({ SecretId: c.ARN }))).ResourcePolicy, undefined);
});
