// The authorization matrix (issue 3, "Must show"): for EVERY KMS operation, through the real
// @aws-sdk/client-kms against the real server, six callers get the expected result and exception:
//   allowed principal        -> success (an IAM user whose identity policy allows just what the
//                               operation needs; the default key policy delegates to IAM)
//   denied principal         -> AccessDeniedException, AWS's message naming the action and resource
//   unknown access key       -> UnrecognizedClientException
//   bad signature            -> InvalidSignatureException
//   stale X-Amz-Date         -> InvalidSignatureException "Signature expired: ..."
//   missing session token    -> UnrecognizedClientException (STS session credentials sent without
//                               X-Amz-Security-Token)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { allow, getSessionToken, makeUser, type Creds } from './helpers/sts.ts';

const ACCOUNT = '111122223333';
const keyArnRe = /^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/;
let s: TestServer;
let admin: K.KMSClient;
let denied: { arn: string; creds: Creds };
before(async () => {
  s = await startTestServer();
  admin = s.kmsClient();
  denied = await makeUser(s.iam, 'nobody');
});
after(async () => { await s.cleanup(); });

const client = (creds: Creds, extra: Partial<K.KMSClientConfig> = {}) =>
  new K.KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: creds, maxAttempts: 1, ...extra });

async function send(c: K.KMSClient, op: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const Cmd = (K as unknown as Record<string, new (i: unknown) => Parameters<K.KMSClient['send']>[0]>)[`${op}Command`]!;
  return (await c.send(new Cmd(input))) as unknown as Record<string, unknown>;
}

async function expectError(p: Promise<unknown>, name: string, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

async function newKey(): Promise<K.KeyMetadata> {
  return (await admin.send(new K.CreateKeyCommand({ Description: 'matrix' }))).KeyMetadata!;
}

interface Case {
  /** IAM actions the allowed principal's policy grants. */
  actions: string[];
  /** The action and resource the denied principal's AccessDeniedException names. */
  deniedAction: string;
  resource: 'key' | '*' | 'alias' | 'source';
  /** Sets up what the operation needs; returns its input and the resources it names. */
  prepare(): Promise<{ input: Record<string, unknown>; key?: K.KeyMetadata; alias?: string }>;
  /** Checks the allowed principal's response. */
  check?(r: Record<string, unknown>, key?: K.KeyMetadata): void;
}

const onKey = (op: string, extra: (k: K.KeyMetadata) => Record<string, unknown> = () => ({}), setup?: (k: K.KeyMetadata) => Promise<void>): Case => ({
  actions: [`kms:${op}`], deniedAction: `kms:${op}`, resource: 'key',
  async prepare() {
    const key = await newKey();
    await setup?.(key);
    return { key, input: { KeyId: key.KeyId, ...extra(key) } };
  },
});
const notOnKey = (op: string, input: () => Record<string, unknown>): Case => ({
  actions: [`kms:${op}`], deniedAction: `kms:${op}`, resource: '*', prepare: async () => ({ input: input() }),
});
let aliasN = 0;
async function grantOn(key: K.KeyMetadata): Promise<string> {
  return (await admin.send(new K.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/app`, RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:role/ops`, Operations: ['Decrypt'] }))).GrantId!;
}
async function ciphertext(key: K.KeyMetadata): Promise<Uint8Array> {
  return (await admin.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('matrix') }))).CiphertextBlob!;
}

const CASES: Record<string, Case> = {
  CreateKey: { ...notOnKey('CreateKey', () => ({ Description: 'm' })), check: (r) => assert.match(String((r['KeyMetadata'] as K.KeyMetadata).Arn), keyArnRe) },
  DescribeKey: { ...onKey('DescribeKey'), check: (r, k) => assert.equal((r['KeyMetadata'] as K.KeyMetadata).Arn, k!.Arn) },
  ListKeys: notOnKey('ListKeys', () => ({})),
  UpdateKeyDescription: onKey('UpdateKeyDescription', () => ({ Description: 'changed' })),
  EnableKey: onKey('EnableKey'),
  DisableKey: onKey('DisableKey'),
  ScheduleKeyDeletion: { ...onKey('ScheduleKeyDeletion', () => ({ PendingWindowInDays: 7 })), check: (r) => assert.equal(r['KeyState'], 'PendingDeletion') },
  CancelKeyDeletion: onKey('CancelKeyDeletion', () => ({}), async (k) => { await admin.send(new K.ScheduleKeyDeletionCommand({ KeyId: k.KeyId })); }),
  Encrypt: { ...onKey('Encrypt', () => ({ Plaintext: Buffer.from('x'), EncryptionContext: { a: 'b' } })), check: (r, k) => assert.equal(r['KeyId'], k!.Arn) },
  Decrypt: {
    actions: ['kms:Decrypt'], deniedAction: 'kms:Decrypt', resource: 'key',
    async prepare() { const key = await newKey(); return { key, input: { CiphertextBlob: await ciphertext(key) } }; },
    check: (r) => assert.equal(Buffer.from(r['Plaintext'] as Uint8Array).toString(), 'matrix'),
  },
  ReEncrypt: {
    actions: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'], deniedAction: 'kms:ReEncryptFrom', resource: 'key',
    async prepare() { const key = await newKey(); const dst = await newKey(); return { key, input: { CiphertextBlob: await ciphertext(key), DestinationKeyId: dst.KeyId } }; },
    check: (r, k) => assert.equal(r['SourceKeyId'], k!.Arn),
  },
  GenerateDataKey: { ...onKey('GenerateDataKey', () => ({ KeySpec: 'AES_256' })), check: (r) => assert.equal((r['Plaintext'] as Uint8Array).length, 32) },
  GenerateDataKeyWithoutPlaintext: onKey('GenerateDataKeyWithoutPlaintext', () => ({ NumberOfBytes: 16 })),
  GenerateRandom: { ...notOnKey('GenerateRandom', () => ({ NumberOfBytes: 8 })), check: (r) => assert.equal((r['Plaintext'] as Uint8Array).length, 8) },
  CreateAlias: {
    actions: ['kms:CreateAlias'], deniedAction: 'kms:CreateAlias', resource: 'alias',
    async prepare() { const key = await newKey(); const alias = `alias/matrix-${++aliasN}`; return { key, alias, input: { AliasName: alias, TargetKeyId: key.KeyId } }; },
  },
  UpdateAlias: {
    actions: ['kms:UpdateAlias'], deniedAction: 'kms:UpdateAlias', resource: 'alias',
    async prepare() {
      const key = await newKey(); const dst = await newKey(); const alias = `alias/matrix-${++aliasN}`;
      await admin.send(new K.CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      return { key, alias, input: { AliasName: alias, TargetKeyId: dst.KeyId } };
    },
  },
  DeleteAlias: {
    actions: ['kms:DeleteAlias'], deniedAction: 'kms:DeleteAlias', resource: 'alias',
    async prepare() {
      const key = await newKey(); const alias = `alias/matrix-${++aliasN}`;
      await admin.send(new K.CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      return { key, alias, input: { AliasName: alias } };
    },
  },
  ListAliases: notOnKey('ListAliases', () => ({})),
  TagResource: onKey('TagResource', () => ({ Tags: [{ TagKey: 'team', TagValue: 'pay' }] })),
  UntagResource: onKey('UntagResource', () => ({ TagKeys: ['team'] })),
  ListResourceTags: onKey('ListResourceTags'),
  GetKeyPolicy: { ...onKey('GetKeyPolicy', () => ({ PolicyName: 'default' })), check: (r) => assert.match(String(r['Policy']), /Enable IAM User Permissions/) },
  PutKeyPolicy: onKey('PutKeyPolicy', () => ({ PolicyName: 'default', Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] }) })),
  ListKeyPolicies: { ...onKey('ListKeyPolicies'), check: (r) => assert.deepEqual(r['PolicyNames'], ['default']) },
  EnableKeyRotation: onKey('EnableKeyRotation'),
  DisableKeyRotation: onKey('DisableKeyRotation'),
  GetKeyRotationStatus: onKey('GetKeyRotationStatus'),
  RotateKeyOnDemand: onKey('RotateKeyOnDemand'),
  ListKeyRotations: onKey('ListKeyRotations'),
  CreateGrant: { ...onKey('CreateGrant', () => ({ GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/app`, Operations: ['Encrypt'] })), check: (r) => assert.match(String(r['GrantId']), /^[0-9a-f]{64}$/) },
  ListGrants: onKey('ListGrants'),
  ListRetirableGrants: notOnKey('ListRetirableGrants', () => ({ RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:role/ops` })),
  RetireGrant: {
    actions: ['kms:RetireGrant'], deniedAction: 'kms:RetireGrant', resource: 'key',
    async prepare() { const key = await newKey(); return { key, input: { KeyId: key.KeyId, GrantId: await grantOn(key) } }; },
  },
  RevokeGrant: {
    actions: ['kms:RevokeGrant'], deniedAction: 'kms:RevokeGrant', resource: 'key',
    async prepare() { const key = await newKey(); return { key, input: { KeyId: key.KeyId, GrantId: await grantOn(key) } }; },
  },
};

test('the matrix covers every KMS operation the server implements', () => {
  assert.deepEqual(Object.keys(CASES).sort(), [...s.kms.operations].sort());
  assert.equal(Object.keys(CASES).length, 34);
});

for (const [op, c] of Object.entries(CASES)) {
  test(`${op}: allowed, denied, unknown key, bad signature, stale date, missing session token`, async () => {
    const { input, key, alias } = await c.prepare();
    const user = await makeUser(s.iam, `allowed-${op}`, allow(...c.actions));
    const session = await getSessionToken(s.url, user.creds, { DurationSeconds: 900 });

    // denied principal: AWS's message names the caller, the action and the resource
    const resource = c.resource === 'key' ? key!.Arn! : c.resource === 'alias' ? `arn:aws:kms:us-east-1:${ACCOUNT}:${alias!}` : '*';
    await expectError(send(client(denied.creds), op, input), 'AccessDeniedException',
      `User: ${denied.arn} is not authorized to perform: ${c.deniedAction} on resource: ${resource} because no identity-based policy allows the ${c.deniedAction} action`);
    // authentication failures: before anything is looked at
    await expectError(send(client({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) }), op, input), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    await expectError(send(client({ ...user.creds, secretAccessKey: 'y'.repeat(40) }), op, input), 'InvalidSignatureException', /^The request signature we calculated does not match the signature you provided\./);
    await expectError(send(client(user.creds, { systemClockOffset: -10 * 60_000 }), op, input), 'InvalidSignatureException',
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    await expectError(send(client({ accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey }), op, input), 'UnrecognizedClientException', 'The security token included in the request is invalid.');

    // allowed principal: the operation succeeds
    const r = await send(client(user.creds), op, input);
    c.check?.(r, key);
  });
}

test('the session credentials themselves work, with their token', async () => {
  const user = await makeUser(s.iam, 'session-user', allow('kms:ListKeys'));
  const session = await getSessionToken(s.url, user.creds, { DurationSeconds: 900 });
  const r = await client(session).send(new K.ListKeysCommand({}));
  assert.ok(Array.isArray(r.Keys));
});

test('REKEY_AUTH=off (benchmarks only) is refused without REKEY_BENCH_UNSAFE_NO_AUTH=1; with it, requests run unsigned as the root', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadConfig } = await import('../src/config/config.ts');
  const { startServer } = await import('../src/server/start.ts');
  const { authSwitch } = await import('../src/server/unsafe-no-auth.ts');
  assert.equal(authSwitch({}), 'on');
  assert.equal(authSwitch({ REKEY_AUTH: 'off' }), 'off');
  assert.throws(() => authSwitch({ REKEY_AUTH: 'no' }), (e: Error) => e.name === 'ConfigurationError' && e.message === 'REKEY_AUTH must be "on" or "off", not "no"');
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-noauth-'));
  const cfg = loadConfig({ dataDir, port: 0 }, { REKEY_LOG_LEVEL: 'silent' });
  try {
    delete process.env['REKEY_BENCH_UNSAFE_NO_AUTH'];
    await assert.rejects(startServer(cfg, { unsafeNoAuth: true }), (e: Error) => e.name === 'ConfigurationError'
      && e.message === 'REKEY_AUTH=off is for benchmarks only and also needs REKEY_BENCH_UNSAFE_NO_AUTH=1; refusing to start without authentication.');
    process.env['REKEY_BENCH_UNSAFE_NO_AUTH'] = '1';
    const srv = await startServer(cfg, { unsafeNoAuth: true });
    try {
      const post = (target: string, body: unknown) => fetch(srv.url + '/', { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${target}` }, body: JSON.stringify(body) });
      const created = await (await post('CreateKey', {})).json() as { KeyMetadata: { KeyId: string } };
      const res = await post('Encrypt', { KeyId: created.KeyMetadata.KeyId, Plaintext: Buffer.from('x').toString('base64') });
      assert.equal(res.status, 200);
    } finally {
      await srv.close();
    }
  } finally {
    delete process.env['REKEY_BENCH_UNSAFE_NO_AUTH'];
    rmSync(dataDir, { recursive: true, force: true });
  }
});
