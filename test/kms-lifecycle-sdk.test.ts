// Service keys, usage budgets and the dependency guard through the real @aws-sdk/client-kms against
// the real server (and its admin API through the real `rekey kms ...` commands, SigV4-signed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { Command } from 'commander';
import { registerKmsLifecycleCommands } from '../src/cli/kms-lifecycle-command.ts';
import { RemoteError } from '../src/cli/iam-command.ts';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { rejects } from '../src/kms/testing.ts';

let s: TestServer;
let kms: K.KMSClient;
before(async () => { s = await startTestServer(); kms = s.kmsClient(); });
after(async () => { await s.cleanup(); });

const ACCOUNT = '111122223333';
const ROOT_ADMIN = `arn:aws:iam::${ACCOUNT}:user/`; // the bootstrap administrator is an IAM user


/** Runs `rekey kms ...` against the server; returns what it printed. */
async function rekey(args: string[], creds: { accessKeyId: string; secretAccessKey: string } = TEST_CREDS): Promise<string> {
  let out = '';
  const program = new Command().exitOverride();
  registerKmsLifecycleCommands(program, { out: { write: (x: string) => (out += x) }, env: { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, REKEY_ENDPOINT: s.url } });
  await program.parseAsync(['node', 'rekey', 'kms', ...args]);
  return out;
}

/** The same with `--output json`: the one JSON document it printed. */
async function rekeyJson(args: string[], creds: { accessKeyId: string; secretAccessKey: string } = TEST_CREDS): Promise<any> {
  return JSON.parse(await rekey([...args, '--output', 'json'], creds));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('service keys: alias/aws/<service> is created on first use, rotates yearly, and customers cannot manage it', async () => {
  const enc = await kms.send(new K.EncryptCommand({ KeyId: 'alias/aws/rds', Plaintext: Buffer.from('row 1') }));
  const md = (await kms.send(new K.DescribeKeyCommand({ KeyId: 'alias/aws/rds' }))).KeyMetadata!;
  assert.equal(enc.KeyId, md.Arn);
  assert.equal(md.KeyManager, 'AWS');
  assert.equal(md.Description, 'Default key that protects my rds data when no other key is defined');
  const st = await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: md.KeyId }));
  assert.equal(st.KeyRotationEnabled, true);
  assert.equal(st.RotationPeriodInDays, 365);
  assert.equal(Math.round((st.NextRotationDate!.getTime() - md.CreationDate!.getTime()) / 86_400_000), 365);
  // DescribeKey on a predefined alias creates the key too (AWS KMS: "KMS creates an AWS managed key").
  const sm = (await kms.send(new K.DescribeKeyCommand({ KeyId: 'alias/aws/secretsmanager' }))).KeyMetadata!;
  assert.equal(sm.KeyManager, 'AWS');
  assert.equal((await s.kms.serviceKey('secretsmanager')).keyId, sm.KeyId);
  const gdk = await kms.send(new K.GenerateDataKeyCommand({ KeyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/aws/rds`, KeySpec: 'AES_256' }));
  assert.equal(gdk.KeyId, md.Arn);
  const dec = await kms.send(new K.DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
  assert.equal(Buffer.from(dec.Plaintext!).toString(), 'row 1');
  await rejects(kms.send(new K.EncryptCommand({ KeyId: 'alias/aws/nonsense', Plaintext: Buffer.from('x') })), 'NotFoundException', `Alias arn:aws:kms:us-east-1:${ACCOUNT}:alias/aws/nonsense is not found.`);

  // Its key policy lets the account use and read it, not manage it: AccessDeniedException, as in AWS.
  const denied = (action: string) => new RegExp(`^User: ${ROOT_ADMIN}\\S+ is not authorized to perform: kms:${action} on resource: ${md.Arn!.replace(/[/.]/g, '\\$&')} because no resource-based policy allows the kms:${action} action$`);
  await rejects(kms.send(new K.DisableKeyCommand({ KeyId: md.KeyId })), 'AccessDeniedException', denied('DisableKey'));
  await rejects(kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 })), 'AccessDeniedException', denied('ScheduleKeyDeletion'));
  await rejects(kms.send(new K.PutKeyPolicyCommand({ KeyId: md.KeyId, PolicyName: 'default', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }] }) })), 'AccessDeniedException', denied('PutKeyPolicy'));
  await rejects(kms.send(new K.RotateKeyOnDemandCommand({ KeyId: md.KeyId })), 'AccessDeniedException', denied('RotateKeyOnDemand'));
  await rejects(kms.send(new K.DisableKeyRotationCommand({ KeyId: md.KeyId })), 'AccessDeniedException', denied('DisableKeyRotation'));
  await rejects(kms.send(new K.EnableKeyRotationCommand({ KeyId: md.KeyId, RotationPeriodInDays: 90 })), 'AccessDeniedException', denied('EnableKeyRotation'));
  // AWS KMS: alias/aws/ is reserved for AWS managed keys.
  const own = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  await rejects(kms.send(new K.CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: own.KeyId })), 'NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/mine');
  await rejects(kms.send(new K.DeleteAliasCommand({ AliasName: 'alias/aws/rds' })), 'NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/rds');
  await rejects(kms.send(new K.UpdateAliasCommand({ AliasName: 'alias/aws/rds', TargetKeyId: own.KeyId })), 'NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/rds');
  // Not even an administrator's override deletes it.
  await assert.rejects(rekey(['schedule-deletion', md.KeyId!, '--pending-window-in-days', '7', '--force']), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.code, 'UnsupportedOperationException');
    assert.equal(e.message, `${md.Arn} is an AWS managed key. You cannot schedule the deletion of an AWS managed key.`);
    return true;
  });
  assert.equal((await kms.send(new K.DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!.KeyState, 'Enabled');
});

test('usage budgets: a key rotates when a material version has done N encryptions; old ciphertexts still decrypt', async () => {
  const md = (await kms.send(new K.CreateKeyCommand({ Description: 'busy' }))).KeyMetadata!;
  const set = await rekeyJson(['usage-budget', md.KeyId!, '--max-encryptions', '25']);
  assert.deepEqual(set, { keyId: md.KeyId, keyArn: md.Arn, budget: { maxEncryptions: 25 }, currentKeyMaterialId: md.CurrentKeyMaterialId, usage: { encryptions: 0, bytes: 0 } });
  const cts: Uint8Array[] = [];
  await Promise.all(Array.from({ length: 25 }, async (_, i) => {
    cts[i] = (await kms.send(new K.EncryptCommand({ KeyId: md.KeyId, Plaintext: Buffer.from(`message ${i}`) }))).CiphertextBlob!;
  }));
  const t0 = Date.now();
  const rotations = await until('the budget rotation', async () => {
    const r = (await kms.send(new K.ListKeyRotationsCommand({ KeyId: md.KeyId }))).Rotations!;
    return r.length > 0 ? r : undefined;
  });
  const waited = Date.now() - t0;
  assert.equal(rotations.length, 1);
  assert.equal(rotations[0]!.RotationType, 'AUTOMATIC');
  assert.equal(rotations[0]!.KeyMaterialState, 'CURRENT');
  for (const [i, ct] of cts.entries()) {
    assert.equal(Buffer.from((await kms.send(new K.DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString(), `message ${i}`);
  }
  // The schedule did not move (automatic rotation is off for this key) and the new version starts at zero.
  assert.equal((await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: md.KeyId }))).KeyRotationEnabled, false);
  const shown = await rekeyJson(['usage-budget', md.Arn!]);
  assert.equal(shown.currentKeyMaterialId, rotations[0]!.KeyMaterialId);
  assert.deepEqual(shown.usage, { encryptions: 0, bytes: 0 });
  const enc = await kms.send(new K.EncryptCommand({ KeyId: md.KeyId, Plaintext: Buffer.from('after') }));
  assert.equal(enc.KeyId, md.Arn);
  // Budget by bytes; and removing a budget.
  await rekeyJson(['usage-budget', md.KeyId!, '--max-bytes', '1000']);
  await kms.send(new K.GenerateDataKeyCommand({ KeyId: md.KeyId, NumberOfBytes: 1000 }));
  await until('the bytes-budget rotation', async () => {
    const r = (await kms.send(new K.ListKeyRotationsCommand({ KeyId: md.KeyId }))).Rotations!;
    return r.length === 2 ? r : undefined;
  });
  assert.deepEqual((await rekeyJson(['usage-budget', md.KeyId!, '--clear'])).budget, null);
  await assert.rejects(rekey(['usage-budget', md.KeyId!, '--max-encryptions', '0']), { code: 'ValidationException', message: 'maxEncryptions must be an integer from 1 to 9007199254740991' });
  process.stdout.write(`# budget rotation visible ${waited} ms after the last encryption returned\n`);
});

test('the dependency guard: DisableKey and ScheduleKeyDeletion refuse a key secrets use, naming them; an administrator can override', async () => {
  const md = (await kms.send(new K.CreateKeyCommand({ Description: 'protects secrets' }))).KeyMetadata!;
  const secret = (n: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${n}-AbCdEf`;
  // What the secrets component calls when a secret starts using a key.
  await s.kms.dependents.register(md.Arn!, { type: 'secret', arn: secret('prod/db'), name: 'prod/db' });
  await new Promise((r) => setTimeout(r, 2));
  await s.kms.dependents.register(md.KeyId!, { type: 'secret', arn: secret('prod/api'), name: 'prod/api' });
  const tail = (route: string) => `Move them to another key first, or have an administrator override with POST /v1/kms/keys/${md.KeyId}/${route} {"force": true}.`;
  const named = `2 rekey resources use it: secret prod/db (${secret('prod/db')}), secret prod/api (${secret('prod/api')}).`;
  await rejects(kms.send(new K.DisableKeyCommand({ KeyId: md.KeyId })), 'KMSInvalidStateException', `${md.Arn} cannot be disabled: ${named} ${tail('disable')}`);
  await rejects(kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: md.Arn, PendingWindowInDays: 7 })), 'KMSInvalidStateException', `${md.Arn} cannot be scheduled for deletion: ${named} ${tail('schedule-deletion')}`);
  assert.equal((await kms.send(new K.DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!.KeyState, 'Enabled');

  // rekey kms dependents KEY
  const table = await rekey(['dependents', md.KeyId!]);
  const lines = table.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^TYPE\s+NAME\s+ARN\s+REGISTERED$/);
  assert.match(lines[1]!, new RegExp(`^secret\\s+prod/db\\s+${secret('prod/db')}\\s+\\d{4}-\\d\\d-\\d\\dT`));
  assert.match(lines[2]!, /^secret\s+prod\/api\s+/);
  const json = JSON.parse(await rekey(['dependents', md.Arn!, '--json']));
  assert.deepEqual(json.dependents.map((d: { name: string }) => d.name), ['prod/db', 'prod/api']);

  // An operator allowed to schedule deletions but not to override the guard.
  const op = await s.iam.principals.createUser('oncall');
  await s.iam.principals.putPolicy('user', 'oncall', 'lifecycle', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['rekey:ScheduleKeyDeletion', 'rekey:ListKeyDependents'], Resource: '*' }] }));
  const k = await s.iam.accessKeys.create(op);
  const oncall = { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey! };
  await assert.rejects(rekey(['schedule-deletion', md.KeyId!, '--pending-window-in-days', '7'], oncall), { code: 'KMSInvalidStateException', message: `${md.Arn} cannot be scheduled for deletion: ${named} ${tail('schedule-deletion')}` });
  await assert.rejects(rekey(['schedule-deletion', md.KeyId!, '--force'], oncall), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.code, 'AccessDeniedException');
    assert.match(e.message, /is not authorized to perform: rekey:OverrideKeyDependencies on resource: arn:aws:kms:us-east-1:111122223333:key\//);
    return true;
  });
  // The administrator overrides.
  const done = await rekeyJson(['schedule-deletion', md.KeyId!, '--pending-window-in-days', '7', '--force']);
  assert.equal(done.keyState, 'PendingDeletion');
  assert.equal(done.pendingWindowInDays, 7);
  assert.deepEqual(done.overriddenDependents.map((d: { name: string }) => d.name), ['prod/db', 'prod/api']);
  const d = (await kms.send(new K.DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
  assert.equal(d.KeyState, 'PendingDeletion');
  assert.equal(d.DeletionDate!.toISOString(), done.deletionDate);
  await kms.send(new K.CancelKeyDeletionCommand({ KeyId: md.KeyId }));
  // Disable with the override, then the dependents go away and the plain API works again.
  assert.equal((await rekeyJson(['disable', md.KeyId!, '--force'])).keyState, 'Disabled');
  await kms.send(new K.EnableKeyCommand({ KeyId: md.KeyId }));
  await s.kms.dependents.unregister(md.KeyId!, secret('prod/db'));
  await s.kms.dependents.unregister(md.KeyId!, secret('prod/api'));
  assert.equal(await rekey(['dependents', md.KeyId!]), `${md.Arn}: no dependents\n`);
  await kms.send(new K.DisableKeyCommand({ KeyId: md.KeyId }));
  await kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 }));
  // Unsigned admin calls are refused.
  const res = await fetch(`${s.url}/v1/kms/keys/${md.KeyId}/dependents`);
  assert.equal(res.status, 403);
  assert.equal((await res.json() as { error: string }).error, 'MissingAuthenticationTokenException');
});
