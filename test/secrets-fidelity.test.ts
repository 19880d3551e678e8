// Secrets Manager behaviour as recorded against real AWS (issue 19, item 1). Each test names its
// recording: LocalStack's AWS-validated snapshots, tests/aws/services/secretsmanager/
// test_secretsmanager.snapshot.json (key = the pytest id, e.g. "TestSecretsManager::
// test_invalid_secret_name[Inv Name]", then the snapshot entry, e.g. "ex_log_1"), or for tests
// marked `markers.aws.validated` without a snapshot entry, the assertions in
// tests/aws/services/secretsmanager/test_secretsmanager.py; and the botocore service model
// (botocore/data/secretsmanager/2017-10-17/service-2.json). Through the real
// @aws-sdk/client-secrets-manager against a real rekey server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, DescribeSecretCommand, ListSecretsCommand,
  ListSecretVersionIdsCommand, UpdateSecretVersionStageCommand, UpdateSecretCommand, DeleteSecretCommand,
  TagResourceCommand, UntagResourceCommand, ValidateResourcePolicyCommand, RotateSecretCommand, RestoreSecretCommand,
  PutResourcePolicyCommand, GetResourcePolicyCommand, DeleteResourcePolicyCommand, GetRandomPasswordCommand, type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
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
const INVALID_NAME = 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!';
const NOT_FOUND = "Secrets Manager can't find the specified secret.";
const MARKED = "You can't perform this operation on the secret because it was marked for deletion.";
/** Response keys other than the SDK's $metadata, sorted. */
const keys = (o: object) => Object.keys(o).filter((k) => k !== '$metadata').sort();
const sorted = (a: readonly string[] | undefined) => [...(a ?? [])].sort();

async function versions(id: string): Promise<Record<string, string[]>> {
  const r = await sm.send(new ListSecretVersionIdsCommand({ SecretId: id }));
  return Object.fromEntries((r.Versions ?? []).map((v) => [v.VersionId!, sorted(v.VersionStages)]));
}

test('invalid names: ValidationException "Invalid name..." on CreateSecret and on every operation given such a SecretId', async () => {
  // snapshot test_invalid_secret_name[Inv Name], [ Inv Name], [ Inv*Name? ], [ Inv *?!]Name\\-]:
  // ex_log_1 CreateSecret, 2 DeleteSecret(Force), 3 DescribeSecret, 4 GetSecretValue,
  // 5 ListSecretVersionIds, 6 PutSecretValue, 7 TagResource, 8 UntagResource, 9 UpdateSecret,
  // 10 ValidateResourcePolicy: all {"Code": "ValidationException", "Message": INVALID_NAME}
  const policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}';
  for (const name of ['Inv Name', ' Inv Name', ' Inv*Name? ', ' Inv *?!]Name\\-']) {
    const calls = [
      new CreateSecretCommand({ Name: name, SecretString: 'MySecretString' }),
      new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
      new DescribeSecretCommand({ SecretId: name }),
      new GetSecretValueCommand({ SecretId: name }),
      new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }),
      new PutSecretValueCommand({ SecretId: name, SecretString: 'MySecretString' }),
      new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'FirstTag', Value: 'SomeValue' }] }),
      new UntagResourceCommand({ SecretId: name, TagKeys: ['FirstTag'] }),
      new UpdateSecretCommand({ SecretId: name, Description: 'MyNewDescription' }),
      new ValidateResourcePolicyCommand({ SecretId: name, ResourcePolicy: policy }),
    ];
    for (const c of calls) await rejects(sm.send(c as never), 'ValidationException', INVALID_NAME);
  }
});

test('secret not found: ResourceNotFoundException on GetSecretValue and ListSecretVersionIds', async () => {
  // snapshot test_secret_not_found: get_secret_value_not_found_ex, list_secret_version_ids_not_found_ex
  const name = uniq('missing');
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name })), 'ResourceNotFoundException', NOT_FOUND);
  await rejects(sm.send(new ListSecretVersionIdsCommand({ SecretId: name })), 'ResourceNotFoundException', NOT_FOUND);
});

test('a secret without a value: no VersionId, DescribeSecret without VersionIdsToStages/Description/RotationEnabled, GetSecretValue errors', async () => {
  // snapshot test_create_secret_version_from_empty_secret: create-empty-secret {ARN, Name};
  // describe-secret {ARN, CreatedDate, LastChangedDate, Name} (created with Description "");
  // put-secret-value {ARN, Name, VersionId, VersionStages: [AWSCURRENT]}
  const c = await sm.send(new CreateSecretCommand({ Name: uniq('test-version'), Description: '' }));
  assert.deepEqual(keys(c), ['ARN', 'Name']);
  const d = await sm.send(new DescribeSecretCommand({ SecretId: c.ARN }));
  assert.deepEqual(keys(d), ['ARN', 'CreatedDate', 'LastChangedDate', 'Name']);
  // snapshot test_secret_version_not_found: get_secret_value_no_version_ex, get_secret_value_version_not_found_ex,
  // get_secret_value_stage_not_found_ex
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: c.ARN })), 'ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
  const vid = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: c.ARN, VersionId: vid })), 'ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${vid}`);
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: c.ARN, VersionStage: 'AWSPENDING' })), 'ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSPENDING");
  const p = await sm.send(new PutSecretValueCommand({ SecretId: c.ARN, SecretString: 'example-string-to-protect' }));
  assert.deepEqual(keys(p), ['ARN', 'Name', 'VersionId', 'VersionStages']);
  assert.deepEqual(p.VersionStages, ['AWSCURRENT']);
});

test('DescribeSecret of a secret with a value: exactly the recorded keys (no RotationEnabled before rotation is configured)', async () => {
  // snapshot test_update_secret_description: describe_secret_res_0 {ARN, CreatedDate, LastChangedDate, Name, VersionIdsToStages};
  // describe_secret_res_1 adds Description after UpdateSecret(Description)
  const name = uniq('desc');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'MySecretString' }));
  assert.deepEqual(keys(await sm.send(new DescribeSecretCommand({ SecretId: name }))), ['ARN', 'CreatedDate', 'LastChangedDate', 'Name', 'VersionIdsToStages']);
  const u = await sm.send(new UpdateSecretCommand({ SecretId: name, Description: 'MyDescription' }));
  assert.deepEqual(keys(u), ['ARN', 'Name']); // update_secret_res_0: no VersionId without a new value
  assert.deepEqual(keys(await sm.send(new DescribeSecretCommand({ SecretId: name }))), ['ARN', 'CreatedDate', 'Description', 'LastChangedDate', 'Name', 'VersionIdsToStages']);
  // snapshot test_first_rotate_secret_with_missing_lambda_arn: rotate_secret_no_arn_exc, then describe_secret without RotationEnabled
  await rejects(sm.send(new RotateSecretCommand({ SecretId: name })), 'InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
  assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: name }))).RotationEnabled, undefined);
});

test('GetSecretValue: missing stage and VersionId/VersionStage mismatch', async () => {
  // snapshot test_get_secret_value_errors: error_get_secret_value_non_existing, mismatch_version_id_and_stage
  const name = uniq('gsv');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'test' }));
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: c.ARN, VersionStage: 'AWSPREVIOUS' })), 'ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS");
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name, VersionId: c.VersionId, VersionStage: 'AWSPREVIOUS' })), 'InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
});

test('scheduled deletion: CreateSecret of the name, Tag/UntagResource are InvalidRequestException; RestoreSecret; ForceDelete afterwards', async () => {
  // snapshot test_exp_raised_on_creation_of_secret_scheduled_for_deletion: delete_res {ARN, DeletionDate, Name}, invalid_req_ex
  const name = uniq('sched');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
  const del = await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
  assert.deepEqual(keys(del), ['ARN', 'DeletionDate', 'Name']);
  await rejects(sm.send(new CreateSecretCommand({ Name: name, SecretString: 'y' })), 'InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
  // snapshot test_tag_untag_resource_on_deleted_secret: tag_deleted_secret_error, untag_deleted_secret_error
  await rejects(sm.send(new TagResourceCommand({ SecretId: c.ARN, Tags: [{ Key: 'k', Value: 'v' }] })), 'InvalidRequestException', MARKED);
  await rejects(sm.send(new UntagResourceCommand({ SecretId: c.ARN, TagKeys: ['k'] })), 'InvalidRequestException', MARKED);
  // snapshot test_secret_restore: restore_secret_res {ARN, Name}
  const r = await sm.send(new RestoreSecretCommand({ SecretId: name }));
  assert.deepEqual(keys(r), ['ARN', 'Name']);
  // snapshot test_force_delete_deleted_secret: delete_secret_response, describe_secret_response
  // {ARN, CreatedDate, DeletedDate, LastChangedDate, Name, VersionIdsToStages}, force_delete_secret_response {ARN, DeletionDate, Name}
  await sm.send(new DeleteSecretCommand({ SecretId: c.ARN }));
  const d = await sm.send(new DescribeSecretCommand({ SecretId: c.ARN }));
  assert.deepEqual(keys(d), ['ARN', 'CreatedDate', 'DeletedDate', 'LastChangedDate', 'Name', 'VersionIdsToStages']);
  assert.deepEqual(d.VersionIdsToStages, { [c.VersionId!]: ['AWSCURRENT'] });
  const f = await sm.send(new DeleteSecretCommand({ SecretId: c.ARN, ForceDeleteWithoutRecovery: true }));
  assert.deepEqual(keys(f), ['ARN', 'DeletionDate', 'Name']);
  assert.equal(f.ARN, c.ARN);
  await rejects(sm.send(new DescribeSecretCommand({ SecretId: c.ARN })), 'ResourceNotFoundException', NOT_FOUND);
  // snapshot test_can_recreate_delete_secret: create_secret_res_1 has the same name and a new ARN suffix (ArnPart-1idx)
  const again = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'z' }));
  assert.notEqual(again.ARN, c.ARN);
  assert.equal(again.Name, name);
});

test('ForceDeleteWithoutRecovery of a name no secret has answers as if it deleted one', async () => {
  // test_secretsmanager.py test_delete_non_existent_secret_returns_as_if_secret_exists (markers.aws.validated):
  // Name == the SecretId, ARN and DeletionDate set
  const name = uniq('never-existed');
  const r = await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  assert.equal(r.Name, name);
  assert.match(r.ARN!, new RegExp(`^arn:aws:secretsmanager:us-east-1:111122223333:secret:${name}-[A-Za-z0-9]{6}$`));
  assert.ok(r.DeletionDate instanceof Date);
  // without ForceDeleteWithoutRecovery it is still ResourceNotFoundException (nothing to schedule)
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: name })), 'ResourceNotFoundException', NOT_FOUND);
});

test('LastAccessedDate: absent until the first GetSecretValue, then the UTC date, on the secret and on the version read', async () => {
  // test_secretsmanager.py test_last_accessed_date (markers.aws.validated); snapshot
  // test_rotate_secret_with_lambda_success[True] list_secret_versions_rotated_1: only the version read has LastAccessedDate
  const name = uniq('lad');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'MySecretValue' }));
  assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: name }))).LastAccessedDate, undefined);
  const dayBefore = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  await sm.send(new GetSecretValueCommand({ SecretId: name }));
  const d1 = (await sm.send(new DescribeSecretCommand({ SecretId: name }))).LastAccessedDate;
  assert.ok(d1 instanceof Date);
  await sm.send(new GetSecretValueCommand({ SecretId: name }));
  const d2 = (await sm.send(new DescribeSecretCommand({ SecretId: name }))).LastAccessedDate;
  const dayAfter = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  if (dayBefore === dayAfter) {
    assert.equal(d1.getTime(), dayBefore);
    assert.equal(d2?.getTime(), d1.getTime());
  }
  const v2 = (await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'next' }))).VersionId!;
  const vs = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }))).Versions ?? [];
  assert.ok(vs.find((v) => v.VersionId === c.VersionId)?.LastAccessedDate instanceof Date);
  assert.equal(vs.find((v) => v.VersionId === v2)?.LastAccessedDate, undefined);
});

test('ListSecretVersionIds names the AWS managed key "DefaultEncryptionKey"', async () => {
  // snapshot test_update_secret_version_stages_current_pending list_secret_version_ids_res_0: KmsKeyIds ["DefaultEncryptionKey"]
  const name = uniq('kmsids');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
  const r = await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }));
  assert.deepEqual(r.Versions?.map((v) => v.KmsKeyIds), [['DefaultEncryptionKey']]);
});

test('staging labels: PutSecretValue with VersionStages leaves AWSCURRENT; a new AWSCURRENT takes AWSPENDING off the old current', async () => {
  // snapshot test_put_secret_value_with_version_stages: put_secret_value_res_1..3 keep AWSCURRENT on v1
  // (get_secret_value_res_1..3), put_secret_value_res_2 moves SAMPLESTAGE0/1 from v2 to v3, put_secret_value_res_4
  // (no VersionStages) is AWSCURRENT
  const a = uniq('stages');
  const v1 = (await sm.send(new CreateSecretCommand({ Name: a, SecretString: 'secret_string_v0' }))).VersionId!;
  const p1 = await sm.send(new PutSecretValueCommand({ SecretId: a, SecretString: 'secret_string_v1', VersionStages: ['SAMPLESTAGE1', 'SAMPLESTAGE0'] }));
  assert.deepEqual(sorted(p1.VersionStages), ['SAMPLESTAGE0', 'SAMPLESTAGE1']);
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: a }))).VersionId, v1);
  const p2 = await sm.send(new PutSecretValueCommand({ SecretId: a, SecretString: 'secret_string_v2', VersionStages: ['SAMPLESTAGE1', 'SAMPLESTAGE0'] }));
  const p3 = await sm.send(new PutSecretValueCommand({ SecretId: a, SecretString: 'secret_string_v3', VersionStages: ['AWSPENDING'] }));
  assert.deepEqual(await versions(a), { [v1]: ['AWSCURRENT'], [p2.VersionId!]: ['SAMPLESTAGE0', 'SAMPLESTAGE1'], [p3.VersionId!]: ['AWSPENDING'] });
  const p4 = await sm.send(new PutSecretValueCommand({ SecretId: a, SecretString: 'secret_string_v4' }));
  assert.deepEqual(p4.VersionStages, ['AWSCURRENT']);
  const g4 = await sm.send(new GetSecretValueCommand({ SecretId: a }));
  assert.equal(g4.SecretString, 'secret_string_v4');

  // snapshot test_update_secret_version_stages_current_pending: list_secret_version_ids_res_1 (v2: AWSCURRENT+AWSPENDING),
  // put_secret_value_res_1 (no VersionStages) -> list_secret_version_ids_res_2 (v2: AWSPREVIOUS, v3: AWSCURRENT; v1 gone)
  const b = uniq('pending');
  const w1 = (await sm.send(new CreateSecretCommand({ Name: b, SecretString: 'Something1' }))).VersionId!;
  const w2 = (await sm.send(new PutSecretValueCommand({ SecretId: b, SecretString: 'Something2', VersionStages: ['AWSPENDING'] }))).VersionId!;
  assert.deepEqual(await versions(b), { [w1]: ['AWSCURRENT'], [w2]: ['AWSPENDING'] });
  const u = await sm.send(new UpdateSecretVersionStageCommand({ SecretId: b, RemoveFromVersionId: w1, MoveToVersionId: w2, VersionStage: 'AWSCURRENT' }));
  assert.deepEqual(keys(u), ['ARN', 'Name']);
  assert.deepEqual(await versions(b), { [w1]: ['AWSPREVIOUS'], [w2]: ['AWSCURRENT', 'AWSPENDING'] });
  const w3 = await sm.send(new PutSecretValueCommand({ SecretId: b, SecretString: 'SS3' }));
  assert.deepEqual(w3.VersionStages, ['AWSCURRENT']);
  assert.deepEqual(await versions(b), { [w2]: ['AWSPREVIOUS'], [w3.VersionId!]: ['AWSCURRENT'] });

  // snapshot test_update_secret_version_stages_current_pending_cycle: put_secret_value_res_1 with VersionStages
  // [AWSPENDING] moves AWSPENDING off the current version (list_secret_version_ids_res_2), the move of AWSCURRENT
  // to it (list_secret_version_ids_res_3) leaves v2 AWSPREVIOUS and v3 AWSCURRENT+AWSPENDING
  const c = uniq('cycle');
  const x1 = (await sm.send(new CreateSecretCommand({ Name: c, SecretString: 'S1' }))).VersionId!;
  const x2 = (await sm.send(new PutSecretValueCommand({ SecretId: c, SecretString: 'S2', VersionStages: ['AWSPENDING'] }))).VersionId!;
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: c, RemoveFromVersionId: x1, MoveToVersionId: x2, VersionStage: 'AWSCURRENT' }));
  const x3 = (await sm.send(new PutSecretValueCommand({ SecretId: c, SecretString: 'S3', VersionStages: ['AWSPENDING'] }))).VersionId!;
  assert.deepEqual(await versions(c), { [x1]: ['AWSPREVIOUS'], [x2]: ['AWSCURRENT'], [x3]: ['AWSPENDING'] });
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: c, RemoveFromVersionId: x2, MoveToVersionId: x3, VersionStage: 'AWSCURRENT' }));
  assert.deepEqual(await versions(c), { [x2]: ['AWSPREVIOUS'], [x3]: ['AWSCURRENT', 'AWSPENDING'] });

  // snapshot test_non_versioning_version_stages_no_replacement: put_secret_value_res_1 [four, one, two] takes
  // one and two from v2, which keeps three (list_secret_version_ids_res_1)
  const n = uniq('nonver');
  const y1 = (await sm.send(new CreateSecretCommand({ Name: n, SecretString: 'a' }))).VersionId!;
  const y2 = (await sm.send(new PutSecretValueCommand({ SecretId: n, SecretString: 'b', VersionStages: ['one', 'two', 'three'] }))).VersionId!;
  const y3 = (await sm.send(new PutSecretValueCommand({ SecretId: n, SecretString: 'c', VersionStages: ['one', 'two', 'four'] }))).VersionId!;
  assert.deepEqual(await versions(n), { [y1]: ['AWSCURRENT'], [y2]: ['three'], [y3]: ['four', 'one', 'two'] });
});

test('ListSecrets filters: prefix, "!" negation, description by words, filters ANDed', async () => {
  // test_secretsmanager.py test_list_secrets_filtering (markers.aws.validated)
  const sfx = Math.random().toString(36).slice(2, 8);
  const n1 = `testing1/one-${sfx}`;
  const n2 = `/testing2/two-${sfx}`;
  const n3 = `testing3/three-${sfx}`;
  const n4 = `/testing4/four-${sfx}`;
  const all = [n1, n2, n3, n4];
  await sm.send(new CreateSecretCommand({ Name: n1, SecretString: 'secret', Description: 'a secret' }));
  await sm.send(new CreateSecretCommand({ Name: n2, SecretString: 'secret', Description: 'an secret' }));
  await sm.send(new CreateSecretCommand({ Name: n3, SecretString: 'secret', Description: 'asecret' }));
  await sm.send(new CreateSecretCommand({ Name: n4, SecretString: 'secret', Description: 'thesecret' }));
  const listed = async (filters: { Key: 'name' | 'description'; Values: string[] }[]) => {
    const out = new Set<string>();
    let token: string | undefined;
    do {
      const r = await sm.send(new ListSecretsCommand({ Filters: filters, NextToken: token }));
      for (const x of r.SecretList ?? []) if (all.includes(x.Name!)) out.add(x.Name!);
      token = r.NextToken;
    } while (token);
    return [...out].sort();
  };
  assert.deepEqual(await listed([{ Key: 'name', Values: ['/'] }]), [n2, n4].sort());
  assert.deepEqual(await listed([{ Key: 'name', Values: ['!/'] }]), [n1, n3].sort());
  assert.deepEqual(await listed([{ Key: 'name', Values: ['testing1 one'] }]), []);
  assert.deepEqual(await listed([{ Key: 'description', Values: ['a'] }]), [n1, n2, n3].sort());
  assert.deepEqual(await listed([{ Key: 'description', Values: ['!a'] }]), [n4]);
  assert.deepEqual(await listed([{ Key: 'description', Values: ['a secret'] }]), [n1, n2].sort());
  assert.deepEqual(await listed([{ Key: 'description', Values: ['!c'] }]), [...all].sort());
  assert.deepEqual(await listed([{ Key: 'description', Values: ['a'] }, { Key: 'name', Values: ['secret'] }]), []);
  assert.deepEqual(await listed([{ Key: 'description', Values: ['a'] }, { Key: 'name', Values: ['an'] }]), []);
  // botocore service-2.json Filter.Key: "name: Prefix match, case-sensitive"; "description: Prefix match, not case-sensitive"
  assert.deepEqual(await listed([{ Key: 'name', Values: ['TESTING1/'] }]), []);
  assert.deepEqual(await listed([{ Key: 'description', Values: ['A SECRET'] }]), [n1, n2].sort());
});

test('a hand-made request without ClientRequestToken: InvalidRequestException on CreateSecret, UpdateSecret, RotateSecret, PutSecretValue', async () => {
  // snapshot test_no_client_request_token[CreateSecret], [UpdateSecret], [RotateSecret], [PutSecretValue]:
  // "no-client-request-exc" {"Error": {"__type": "InvalidRequestException", "Message": ...}, "Metadata": {"StatusCode": 400}},
  // each a raw signed request with SecretString and Description (the secret need not exist)
  const name = uniq('notoken');
  for (const op of ['CreateSecret', 'UpdateSecret', 'RotateSecret', 'PutSecretValue']) {
    const body = { SecretString: 'thisisthesecret', Description: 'My secret string', ...(op === 'CreateSecret' ? { Name: name } : { SecretId: name }) };
    const r = await s.raw(`secretsmanager.${op}`, JSON.stringify(body));
    assert.equal(r.status, 400, op);
    assert.equal(r.json.__type, 'InvalidRequestException', op);
    // the raw body's key is "Message" (capital), as recorded
    assert.deepEqual(r.json, { __type: 'InvalidRequestException', Message: 'You must provide a ClientRequestToken value. We recommend a UUID-type value.' }, op);
  }
  await rejects(sm.send(new DescribeSecretCommand({ SecretId: name })), 'ResourceNotFoundException', NOT_FOUND);
  // the SDK fills the token in (idempotencyToken in botocore's service-2.json): the same calls work
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'thisisthesecret' }));
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'v2' }));
  await sm.send(new UpdateSecretCommand({ SecretId: name, SecretString: 'v3' }));
  // a metadata-only UpdateSecret makes no version and needs no token (not in the recording; rekey's choice)
  const meta = await s.raw('secretsmanager.UpdateSecret', JSON.stringify({ SecretId: name, Description: 'd' }));
  assert.equal(meta.status, 200, meta.text);
});

test('ResourceExistsException and a Lambda ARN rekey cannot invoke', async () => {
  // snapshot test_secret_exists_snapshots: ex_log {"Code": "ResourceExistsException", "Message": "The operation failed because the secret <name> already exists."}
  const name = uniq('exists');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x', Description: 'Snapshot testing secret already exists.' }));
  await rejects(sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x', Description: 'Snapshot testing secret already exists.' })), 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
  // snapshot test_rotate_secret_invalid_lambda_arn: rotate_secret_invalid_arn_exc
  await rejects(sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:no-such-function', RotationRules: { AutomaticallyAfterDays: 1 } })),
    'AccessDeniedException', 'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.');
});

test('DeleteSecret parameters: the recovery window range is checked before the ForceDeleteWithoutRecovery conflict', async () => {
  // getmoto/moto issue 6461 (reproduced against AWS by a maintainer): RecoveryWindowInDays 0 with
  // ForceDeleteWithoutRecovery -> InvalidParameterException "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
  const name = uniq('window');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
  const RANGE = 'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).';
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 0, ForceDeleteWithoutRecovery: true })), 'InvalidParameterException', RANGE);
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 31 })), 'InvalidParameterException', RANGE);
  await rejects(sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })), 'InvalidParameterException',
    "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  // AWS API reference (DeleteSecret, ForceDeleteWithoutRecovery): "If you forcibly delete an already deleted or
  // nonexistent secret, the operation does not return ResourceNotFoundException."
  await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  const again = await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  assert.equal(again.Name, name);
});

test('DescribeSecret Tags: absent before any tag, [] after the last one is removed; a deprecated version has no VersionStages', async () => {
  // snapshot test_secret_tags: describe_secret (no Tags), describe_secret_1..3, describe_secret_4 and _6 ("Tags": [])
  const c = await sm.send(new CreateSecretCommand({ Name: uniq('tags') }));
  assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: c.ARN }))).Tags, undefined);
  const t1 = await sm.send(new TagResourceCommand({ SecretId: c.ARN, Tags: [{ Key: 'tag1', Value: 'value1' }] }));
  assert.deepEqual(keys(t1), []);
  await sm.send(new TagResourceCommand({ SecretId: c.ARN, Tags: [{ Key: 'tag2', Value: 'value2' }] }));
  assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: c.ARN }))).Tags, [{ Key: 'tag1', Value: 'value1' }, { Key: 'tag2', Value: 'value2' }]);
  await sm.send(new UntagResourceCommand({ SecretId: c.ARN, TagKeys: ['tag1'] }));
  assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: c.ARN }))).Tags, [{ Key: 'tag2', Value: 'value2' }]);
  await sm.send(new UntagResourceCommand({ SecretId: c.ARN, TagKeys: ['tag2'] }));
  assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: c.ARN }))).Tags, []);

  // snapshot test_deprecated_secret_version_stage: list_secret_version_ids_3 (IncludeDeprecated) lists v1 without VersionStages
  const name = uniq('deprecated');
  const v1 = (await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'a' }))).VersionId!;
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'b' }));
  await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'c' }));
  const withDeprecated = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }))).Versions ?? [];
  const old = withDeprecated.find((v) => v.VersionId === v1)!;
  assert.deepEqual(keys(old), ['CreatedDate', 'KmsKeyIds', 'VersionId']);
  assert.equal(withDeprecated.length, 3);
  assert.equal(((await sm.send(new ListSecretVersionIdsCommand({ SecretId: name }))).Versions ?? []).length, 2);
});

test('ClientRequestToken reuse across CreateSecret, PutSecretValue and UpdateSecret', async () => {
  // getmoto/moto tests/test_secretsmanager/test_secretsmanager.py, run against AWS (@aws_verified):
  // test_create_duplicate_secret_without_specifying_token, test_create_duplicate_secret_with_same_token,
  // test_create_different_secret_with_same_token, test_put_same_secret_value_with_same_token,
  // test_put_different_secret_value_with_same_token, test_update_same_secret_value_with_same_token,
  // test_update_different_secret_value_with_same_token
  const token = '5d2e8b0c-3f4a-4e6b-9c1d-7a8b9c0d1e2f';
  const name = uniq('crt');
  const first = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'Hello', ClientRequestToken: token }));
  const again = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'Hello', ClientRequestToken: token }));
  assert.deepEqual([keys(again), again.ARN, again.Name, again.VersionId], [['ARN', 'Name', 'VersionId'], first.ARN, first.Name, token]);
  await rejects(sm.send(new CreateSecretCommand({ Name: name, SecretString: 'Hello' })), 'ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
  const inUse = `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${first.ARN}.`;
  await rejects(sm.send(new CreateSecretCommand({ Name: name, SecretString: 'Hi', ClientRequestToken: token })), 'ResourceExistsException', inUse);
  const put = await sm.send(new PutSecretValueCommand({ SecretId: first.ARN, SecretString: 'Hello', ClientRequestToken: token }));
  assert.deepEqual([put.ARN, put.Name, put.VersionId, put.VersionStages], [first.ARN, first.Name, token, ['AWSCURRENT']]);
  await rejects(sm.send(new PutSecretValueCommand({ SecretId: first.ARN, SecretString: 'Hi', ClientRequestToken: token })), 'ResourceExistsException', inUse);
  assert.equal((await sm.send(new UpdateSecretCommand({ SecretId: name, SecretString: 'Hello', ClientRequestToken: token }))).VersionId, token);
  await rejects(sm.send(new UpdateSecretCommand({ SecretId: first.ARN, SecretString: 'Hi', ClientRequestToken: token })), 'ResourceExistsException', inUse);
  assert.deepEqual(await versions(name), { [token]: ['AWSCURRENT'] });
});

test('ListSecrets "all" filter: terms split at punctuation and case changes; description by words; same-key filters ANDed', async () => {
  // getmoto/moto tests/test_secretsmanager/test_list_secrets.py, run against AWS (@aws_verified): test_with_all_filter,
  // test_with_all_filter_special_characters, test_with_filter_with_value_with_multiple_words, test_with_duplicate_filter_keys
  const u = Math.random().toString(16).slice(2, 8).replace(/^[a-f]/, '7');
  const mine = new Set<string>();
  const make = async (Name: string, extra: { Description?: string; Tags?: { Key: string; Value: string }[] } = {}) => {
    await sm.send(new CreateSecretCommand({ Name, SecretString: 's', ...extra }));
    mine.add(Name);
    return Name;
  };
  const listed = async (filters: { Key: 'all' | 'description'; Values: string[] }[]) => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await sm.send(new ListSecretsCommand({ Filters: filters, NextToken: token }));
      for (const x of r.SecretList ?? []) if (mine.has(x.Name!)) out.push(x.Name!);
      token = r.NextToken;
    } while (token);
    return out.sort();
  };
  const first = await make(`SecretOne${u}`);
  const second = await make(`SecretTwo${u}`, { Description: 'DescTwo' });
  const third = await make(`Thirdsecret${u}`);
  const tagKey = await make(`SecretFTag${u}`, { Tags: [{ Key: '1', Value: 'foo' }] });
  const tagVal = await make(`SecretFValue${u}`, { Tags: [{ Key: 'foo', Value: 'v' }] });
  await make(`none${u}`);
  const all = (v: string[]) => listed([{ Key: 'all', Values: v }]);
  const sorted4 = [first, second, tagKey, tagVal].sort();
  assert.deepEqual(await all(['SecretOne']), [first]);
  assert.deepEqual(await all(['foo']), [tagKey, tagVal].sort());
  assert.deepEqual(await all(['Secret']), sorted4);
  assert.deepEqual(await all(['secret']), sorted4);
  assert.deepEqual(await all(['ret']), []);
  assert.deepEqual(await all(['sec']), sorted4);
  assert.deepEqual(await all(['SomeSecret']), []);
  assert.deepEqual(await all(['d']), [second]);
  assert.deepEqual(await all(['d t']), [second]);
  assert.deepEqual(await all(['t']), [second, third, tagKey].sort());

  const special = [];
  for (const sep of ['/', '_', '+', '=', '.', '@', '-']) special.push(await make(`prod${sep}AppBeta${sep}${u}`));
  const upper = await make(`uat/COMPANY/${u}`);
  const partial = await make(`uat/COMPANYthings/${u}`);
  assert.deepEqual(await all(['AppBeta']), [...special].sort());
  assert.deepEqual(await all(['Beta']), [...special].sort());
  assert.deepEqual(await all(['AppBeta', 'prod']), [...special].sort());
  assert.deepEqual(await all(['+']), []);
  assert.deepEqual(await all([u]), [...special, upper, partial].sort());
  assert.deepEqual(await all(['company']), [upper]);
  assert.deepEqual(await all(['things']), []);
  assert.deepEqual(await all(['Ythings']), [partial]);
  // (within that test's secrets: "none<u>" of the first part does start with n)
  const secondPart = new Set([...special, upper, partial]);
  assert.deepEqual((await all(['N'])).filter((n) => secondPart.has(n)), []);
  assert.deepEqual((await all(['pany'])).filter((n) => secondPart.has(n)), []);

  const d = (n: string) => `${n}-${u}`;
  await make(d('foo'), { Description: 'one two' });
  await make(d('bar'), { Description: 'one and two' });
  await make(d('baz'), { Description: 'one' });
  await make(d('qux'), { Description: 'two' });
  await make(d('unrel'), { Description: 'unrelated' });
  assert.deepEqual(await listed([{ Key: 'description', Values: ['one two'] }]), [d('bar'), d('foo')]);
  assert.deepEqual(await listed([{ Key: 'description', Values: ['o t'] }]), [d('bar'), d('foo')]);
  assert.deepEqual((await listed([{ Key: 'description', Values: ['t'] }])).filter((n) => n.endsWith(`-${u}`)), [d('bar'), d('foo'), d('qux')]);
  assert.deepEqual(await listed([{ Key: 'description', Values: ['one'] }, { Key: 'description', Values: ['two'] }]), [d('bar'), d('foo')]);
});

test('UpdateSecretVersionStage: moving AWSCURRENT needs RemoveFromVersionId; the moved-to version keeps AWSPENDING', async () => {
  // getmoto/moto tests/test_secretsmanager/test_secretsmanager.py, run against AWS (@secretsmanager_aws_verified):
  // test_update_secret_version_stage_dont_specify_current_stage, test_update_secret_version_stage_manually
  const name = uniq('moto-stage');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'old_secret' }));
  const current = (await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'previous_secret', VersionStages: ['AWSCURRENT'] }))).VersionId!;
  const token = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
  await sm.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token, SecretString: 'new_secret', VersionStages: ['AWSPENDING'] }));
  const pending = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }));
  assert.deepEqual([pending.VersionStages, pending.SecretString], [['AWSPENDING'], 'new_secret']);
  await rejects(sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: token })), 'InvalidParameterException',
    `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${current}, so you must explicitly reference that version in RemoveFromVersionId.`);
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: name, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
  const now = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSCURRENT' }));
  assert.deepEqual([sorted(now.VersionStages), now.SecretString], [['AWSCURRENT', 'AWSPENDING'], 'new_secret']);
  const prev = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }));
  assert.deepEqual([prev.VersionStages, prev.SecretString], [['AWSPREVIOUS'], 'previous_secret']);
});

test('names with AWS punctuation; partial ARNs, except when the name itself ends in "-" and six characters', async () => {
  // snapshot test_create_and_update_secret[s-c64bdc03], [Valid/_+=.@-Name], [Valid/_+=.@-Name-a1b2], [Valid/_+=.@-Name-a1b2c3-]:
  // GetSecretValue by name, ARN and partial ARN (ARN minus its last 7 characters), PutSecretValue, UpdateSecret by ARN;
  // [Invalid/_+=.@-Name-a1b2c3-False] "resource_not_found_dict_1": the partial ARN of a name ending "-a1b2c3" is not found
  const u = Math.random().toString(36).slice(2, 6);
  for (const base of ['s-c64bdc03', 'Valid/_+=.@-Name', 'Valid/_+=.@-Name-a1b2', 'Valid/_+=.@-Name-a1b2c3-']) {
    const name = `${u}${base}`;
    const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'my_secret', Description: 'Testing secret creation.' }));
    assert.equal(c.ARN!.split('-').pop()!.length, 6);
    for (const id of [name, c.ARN!, c.ARN!.slice(0, -7)]) assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, 'my_secret', id);
    const p = await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'new_secret' }));
    assert.deepEqual(p.VersionStages, ['AWSCURRENT']);
    const up = await sm.send(new UpdateSecretCommand({ SecretId: c.ARN, SecretString: 'test123', Description: 'd1' }));
    assert.deepEqual(keys(up), ['ARN', 'Name', 'VersionId']);
  }
  const odd = `${u}Invalid/_+=.@-Name-a1b2c3`;
  const c = await sm.send(new CreateSecretCommand({ Name: odd, SecretString: 'my_secret' }));
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: c.ARN }))).SecretString, 'my_secret');
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: c.ARN!.slice(0, -7) })), 'ResourceNotFoundException', NOT_FOUND);
});

test('ListSecrets entries: exactly the recorded keys', async () => {
  // snapshot test_create_multi_secrets_snapshot: list_secrets_res SecretList entries
  // {ARN, CreatedDate, Description, LastChangedDate, Name, SecretVersionsToStages}
  const prefix = uniq('multi');
  for (let i = 0; i < 3; i++) await sm.send(new CreateSecretCommand({ Name: `${prefix}/${i}`, SecretString: `my_secret_${i}`, Description: 'Testing secrets creation.' }));
  const r = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`${prefix}/`] }] }));
  assert.equal(r.SecretList?.length, 3);
  for (const e of r.SecretList ?? []) {
    assert.deepEqual(keys(e), ['ARN', 'CreatedDate', 'Description', 'LastChangedDate', 'Name', 'SecretVersionsToStages']);
    assert.deepEqual(Object.values(e.SecretVersionsToStages ?? {}), [['AWSCURRENT']]);
  }
});

test('Put/Get/DeleteResourcePolicy answers', async () => {
  // snapshot test_resource_policy: put_resource_policy {ARN, Name}; get_resource_policy {ARN, Name, ResourcePolicy}
  // (a policy with Principal "*", BlockPublicPolicy not given, is accepted)
  const name = uniq('policy');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'my_secret', Description: 'testing creation of secrets' }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }] };
  const put = await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: JSON.stringify(policy) }));
  assert.deepEqual([keys(put), put.ARN], [['ARN', 'Name'], c.ARN]);
  const got = await sm.send(new GetResourcePolicyCommand({ SecretId: name }));
  assert.deepEqual(keys(got), ['ARN', 'Name', 'ResourcePolicy']);
  assert.deepEqual(JSON.parse(got.ResourcePolicy!), policy);
  const del = await sm.send(new DeleteResourcePolicyCommand({ SecretId: name }));
  assert.deepEqual(keys(del), ['ARN', 'Name']);
});

test('GetRandomPassword with PasswordLength and ExcludeCharacters', async () => {
  // test_secretsmanager.py test_get_random_exclude_characters_and_symbols (markers.aws.validated)
  const r = await sm.send(new GetRandomPasswordCommand({ PasswordLength: 120, ExcludeCharacters: 'xyzDje@?!.' }));
  assert.equal(r.RandomPassword?.length, 120);
  assert.ok([...r.RandomPassword!].every((c) => !'xyzDje@?!.'.includes(c)));
});
