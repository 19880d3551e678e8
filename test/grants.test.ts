// Separation of duties, grants and "changes take effect at once", through the real SDK against the
// real server (and, for "within one second elsewhere", two servers sharing one PostgreSQL store).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { randomBytes } from '../src/crypto/index.ts';
import { callKmsAdmin } from '../src/cli/kms-command.ts';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { startPostgres } from './helpers/pg.ts';
import { allow, makeUser, type Creds } from './helpers/sts.ts';
import { rejects } from '../src/kms/testing.ts';

let s: TestServer;
let admin: K.KMSClient;
before(async () => { s = await startTestServer(); admin = s.kmsClient(); });
after(async () => { await s.cleanup(); });

const client = (creds: Creds, url = s.url) => new K.KMSClient({ endpoint: url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
const denied = (arn: string, action: string, key: string) => `User: ${arn} is not authorized to perform: ${action} on resource: ${key} because no identity-based policy allows the ${action} action`;


test('separation of duties (POST /v1/kms/keys): key administrators cannot use the key, key users cannot manage it', async () => {
  const ka = await makeUser(s.iam, 'key-admin');
  const ku = await makeUser(s.iam, 'key-user');
  const io = { out: { write: () => true }, env: { AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey }, fetch };
  const created = await callKmsAdmin(io, { endpoint: s.url, region: 'us-east-1' }, '/v1/kms/keys', { Description: 'sod', Administrators: [ka.arn], Users: [ku.arn] }) as { KeyMetadata: K.KeyMetadata };
  const key = created.KeyMetadata;
  const asAdmin = client(ka.creds);
  const asUser = client(ku.creds);

  const ct = (await asUser.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('pan') }))).CiphertextBlob!;
  assert.equal(Buffer.from((await asUser.send(new K.DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString(), 'pan');
  await rejects(asAdmin.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })), 'AccessDeniedException', denied(ka.arn, 'kms:Encrypt', key.Arn!));
  await rejects(asAdmin.send(new K.DecryptCommand({ CiphertextBlob: ct })), 'AccessDeniedException', denied(ka.arn, 'kms:Decrypt', key.Arn!));
  await rejects(asUser.send(new K.ScheduleKeyDeletionCommand({ KeyId: key.KeyId })), 'AccessDeniedException', denied(ku.arn, 'kms:ScheduleKeyDeletion', key.Arn!));
  const policy = (await asAdmin.send(new K.GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default' }))).Policy!;
  await rejects(asUser.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: policy })), 'AccessDeniedException', denied(ku.arn, 'kms:PutKeyPolicy', key.Arn!));
  await asAdmin.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: policy }));
  await asAdmin.send(new K.ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
  // the bootstrap administrator keeps full access through the policy's account-root statement
  await admin.send(new K.CancelKeyDeletionCommand({ KeyId: key.KeyId }));
});

test('a grant with EncryptionContextSubset allows only matching contexts; grant tokens are accepted', async () => {
  const key = (await admin.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  const app = await makeUser(s.iam, 'grant-app');
  const asApp = client(app.creds);
  await rejects(asApp.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'a' } })), 'AccessDeniedException', denied(app.arn, 'kms:Encrypt', key.Arn!));
  const g = await admin.send(new K.CreateGrantCommand({
    KeyId: key.KeyId, GranteePrincipal: app.arn, Operations: ['Encrypt', 'Decrypt', 'GenerateDataKey'],
    Constraints: { EncryptionContextSubset: { tenant: 'a' } },
  }));
  const ok = await asApp.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'a', table: 'cards' }, GrantTokens: [g.GrantToken!] }));
  await asApp.send(new K.DecryptCommand({ CiphertextBlob: ok.CiphertextBlob, EncryptionContext: { tenant: 'a', table: 'cards' } }));
  await asApp.send(new K.GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256', EncryptionContext: { tenant: 'a' } }));
  for (const ctx of [{ tenant: 'b' }, {}, { other: 'a' }] as Record<string, string>[]) {
    await rejects(asApp.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: ctx })), 'AccessDeniedException', denied(app.arn, 'kms:Encrypt', key.Arn!));
  }
  await rejects(asApp.send(new K.GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.KeyId, KeySpec: 'AES_256', EncryptionContext: { tenant: 'a' } })), 'AccessDeniedException', denied(app.arn, 'kms:GenerateDataKeyWithoutPlaintext', key.Arn!));
  await rejects(asApp.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), GrantTokens: ['garbage'] })), 'InvalidGrantTokenException', 'The grant token is not valid.');
  const listed = await admin.send(new K.ListGrantsCommand({ KeyId: key.KeyId }));
  assert.deepEqual(listed.Grants!.map((x) => [x.GrantId, x.GranteePrincipal, x.Constraints]), [[g.GrantId, app.arn, { EncryptionContextSubset: { tenant: 'a' } }]]);
});

test('a revoked or retired grant stops working at once', async () => {
  const key = (await admin.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  const app = await makeUser(s.iam, 'grant-app-2');
  const ops = await makeUser(s.iam, 'grant-ops');
  const asApp = client(app.creds);
  const enc = (tokens?: string[]) => asApp.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), ...(tokens ? { GrantTokens: tokens } : {}) }));
  const g1 = await admin.send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: app.arn, Operations: ['Encrypt'] }));
  await enc();
  await admin.send(new K.RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g1.GrantId }));
  await rejects(enc([g1.GrantToken!]), 'AccessDeniedException', denied(app.arn, 'kms:Encrypt', key.Arn!));

  const g2 = await admin.send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: app.arn, RetiringPrincipal: ops.arn, Operations: ['Encrypt'] }));
  await enc();
  const retirable = await client(ops.creds).send(new K.ListRetirableGrantsCommand({ RetiringPrincipal: ops.arn })).catch((e: Error) => e);
  assert.equal((retirable as Error).name, 'AccessDeniedException'); // listing needs kms:ListRetirableGrants; retiring does not
  await client(ops.creds).send(new K.RetireGrantCommand({ GrantToken: g2.GrantToken }));
  await rejects(enc([g2.GrantToken!]), 'AccessDeniedException', denied(app.arn, 'kms:Encrypt', key.Arn!));
  assert.deepEqual((await admin.send(new K.ListGrantsCommand({ KeyId: key.KeyId }))).Grants, []);
});

test('disabling an access key and changing a key policy take effect at once', async () => {
  const key = (await admin.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  const u = await makeUser(s.iam, 'flip', allow('kms:Encrypt'));
  const c = client(u.creds);
  const enc = () => c.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }));
  await enc();
  await s.iam.accessKeys.setStatus(u.creds.accessKeyId, 'Inactive', 'flip');
  await rejects(enc(), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  await s.iam.accessKeys.setStatus(u.creds.accessKeyId, 'Active', 'flip');
  await enc();
  const policy = { Version: '2012-10-17', Statement: [
    { Sid: 'root', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
    { Sid: 'noflip', Effect: 'Deny', Principal: { AWS: u.arn }, Action: 'kms:Encrypt', Resource: '*' },
  ] };
  await admin.send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: JSON.stringify(policy) }));
  await rejects(enc(), 'AccessDeniedException', `User: ${u.arn} is not authorized to perform: kms:Encrypt on resource: ${key.Arn} with an explicit deny in a resource-based policy`);
});

test('two servers on one PostgreSQL store: a revoked grant, a new key policy and a disabled access key reach the other within one second', async () => {
  const pgs = await startPostgres();
  // both nodes unseal the store with the same root key (read from the environment by the key loader)
  process.env['REKEY_ROOT_KEY'] = randomBytes(32).toString('hex');
  const env = { REKEY_STORAGE: 'postgres', REKEY_POSTGRES_URL: pgs.url, REKEY_ROOT_KEY: process.env['REKEY_ROOT_KEY'], REKEY_INSECURE_HTTP: '1' };
  const a = await startTestServer({ env });
  const b = await startTestServer({ env });
  try {
    const key = (await a.kmsClient().send(new K.CreateKeyCommand({}))).KeyMetadata!;
    const app = await makeUser(a.iam, 'node-app', allow('kms:DescribeKey'));
    const onB = client(app.creds, b.url);
    const encB = () => onB.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }));
    const g = await a.kmsClient().send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: app.arn, Operations: ['Encrypt'] }));
    await onB.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), GrantTokens: [g.GrantToken!] })); // at once, with the token
    const within = async (what: string, f: () => Promise<unknown>, ok: (e: unknown) => boolean) => {
      const t0 = Date.now();
      for (;;) {
        const e = await f().then(() => null, (err: unknown) => err);
        if (ok(e)) return Date.now() - t0;
        assert.ok(Date.now() - t0 < 1000, `${what} not seen on the other node within 1 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await within('the grant', encB, (e) => e === null);
    await a.kmsClient().send(new K.RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g.GrantId }));
    await within('the revocation', encB, (e) => (e as Error | null)?.name === 'AccessDeniedException');
    const deny = { Version: '2012-10-17', Statement: [
      { Sid: 'root', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
      { Sid: 'no', Effect: 'Deny', Principal: { AWS: app.arn }, Action: 'kms:DescribeKey', Resource: '*' },
    ] };
    await onB.send(new K.DescribeKeyCommand({ KeyId: key.KeyId }));
    await a.kmsClient().send(new K.PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: JSON.stringify(deny) }));
    await within('the key policy', () => onB.send(new K.DescribeKeyCommand({ KeyId: key.KeyId })), (e) => (e as Error | null)?.name === 'AccessDeniedException');
    await a.iam.accessKeys.setStatus(app.creds.accessKeyId, 'Inactive', 'node-app');
    await within('the disabled access key', () => onB.send(new K.ListKeysCommand({})), (e) => (e as Error | null)?.name === 'UnrecognizedClientException');
  } finally {
    await a.cleanup();
    await b.cleanup();
    await pgs.stop();
    delete process.env['REKEY_ROOT_KEY'];
  }
});
