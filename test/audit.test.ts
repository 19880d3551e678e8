// The audit trail through the real server and SDK: a scripted workload gives the exact sequence
// of CloudTrail-shaped events; no plaintext, data key or secret reaches any sink; tampering with
// the JSON-lines file is named by `rekey audit verify`; and an unwritable only sink refuses
// requests and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as K from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import type { AuditRecord } from '../src/audit/index.ts';

const BIN = join(process.cwd(), 'bin', 'rekey.mjs');

function fileRecords(s: TestServer): AuditRecord[] {
  const dir = join(s.dataDir, 'audit');
  const lines = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort().flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
  return lines.map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.event !== undefined).sort((a, b) => a.seq - b.seq);
}

async function deniedClient(s: TestServer): Promise<K.KMSClient> {
  const user = await s.iam.principals.createUser('nobody');
  const key = await s.iam.accessKeys.create(user);
  return s.kmsClient({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
}

test('a scripted workload produces the exact sequence of events, with their fields, and no secrets', async () => {
  const s = await startTestServer({ env: { REKEY_AUDIT_STDOUT: 'false' } });
  try {
    const kms = s.kmsClient();
    const secretPlain = Buffer.from('4111 1111 1111 1111 card number');
    const key = (await kms.send(new K.CreateKeyCommand({ Description: 'audited' }))).KeyMetadata!;
    const ct = await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: secretPlain, EncryptionContext: { tenant: 'acme' } }));
    await kms.send(new K.DecryptCommand({ CiphertextBlob: ct.CiphertextBlob, EncryptionContext: { tenant: 'acme' } }));
    const dk = await kms.send(new K.GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
    await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const denied = await deniedClient(s);
    await assert.rejects(denied.send(new K.EncryptCommand({ KeyId: key.Arn, Plaintext: secretPlain })), (e: any) => e.name === 'AccessDeniedException');
    await assert.rejects(kms.send(new K.DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })), (e: any) => e.name === 'NotFoundException');
    await kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));

    const events = fileRecords(s).map((r) => r.event).filter((e) => e.eventSource === 'kms.amazonaws.com');
    assert.deepEqual(events.map((e) => e.eventName), ['CreateKey', 'Encrypt', 'Decrypt', 'GenerateDataKey', 'RotateKeyOnDemand', 'Encrypt', 'DescribeKey', 'ScheduleKeyDeletion']);
    const [create, enc, dec, gdk, rot, den, nf, del] = events as any[];
    for (const e of events as any[]) {
      assert.equal(e.eventVersion, '1.11');
      assert.equal(e.awsRegion, 'us-east-1');
      assert.match(e.eventID, /^[0-9a-f-]{36}$/);
      assert.match(e.requestID, /^[0-9a-f-]{36}$/);
      assert.match(e.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(e.sourceIPAddress, '127.0.0.1');
      assert.match(e.userAgent, /aws-sdk-js/);
    }
    assert.equal(create.userIdentity.accessKeyId, TEST_CREDS.accessKeyId);
    assert.equal(create.userIdentity.arn, 'arn:aws:iam::111122223333:user/rekey-admin');
    assert.equal(create.userIdentity.type, 'IAMUser');
    assert.equal(create.readOnly, false);
    assert.equal(create.errorCode, undefined);
    assert.equal(create.requestParameters.description, 'audited');
    assert.ok(create.resources.some((r: any) => r.ARN === key.Arn), JSON.stringify(create.resources));
    assert.deepEqual(enc.requestParameters.encryptionContext, { tenant: 'acme' });
    assert.equal(enc.requestParameters.keyId, key.KeyId);
    assert.equal(enc.resources[0].ARN, key.Arn);
    assert.equal(dec.readOnly, true);
    assert.equal(gdk.requestParameters.keySpec, 'AES_256');
    assert.equal(rot.eventName, 'RotateKeyOnDemand');
    assert.equal(den.errorCode, 'AccessDeniedException');
    assert.match(den.errorMessage, /is not authorized to perform: kms:Encrypt/);
    assert.equal(den.userIdentity.arn, 'arn:aws:iam::111122223333:user/nobody');
    assert.equal(nf.errorCode, 'NotFoundException');
    assert.equal(del.requestParameters.pendingWindowInDays, 7);

    // the same events are queryable in the store
    const looked = await s.audit.lookup({ eventName: 'Encrypt', maxResults: 10 });
    assert.equal(looked.events.length, 2);

    // secrets scan over every sink's output
    const fileText = readdirSync(join(s.dataDir, 'audit')).map((f) => readFileSync(join(s.dataDir, 'audit', f))).join('\n');
    const storeText = JSON.stringify((await s.audit.lookup({ maxResults: 1000 })).events);
    const secrets = [secretPlain, Buffer.from(dk.Plaintext!), Buffer.from(TEST_CREDS.secretAccessKey), Buffer.from(ct.CiphertextBlob!)];
    for (const text of [fileText, storeText]) {
      assert.ok(text.includes('CreateKey'));
      for (const sec of secrets) {
        for (const form of [sec.toString('utf8'), sec.toString('hex'), sec.toString('base64')]) assert.ok(!text.includes(form), 'a secret reached a sink');
      }
    }
  } finally {
    await s.cleanup();
  }
});

test('rekey audit verify names an edited, deleted, swapped or truncated event in the file', async () => {
  const s = await startTestServer();
  const kms = s.kmsClient();
  const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  for (let i = 0; i < 6; i++) await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from(`x${i}`) }));
  const dataDir = s.dataDir;
  await s.close(); // closes the period with a signed digest
  const file = join(dataDir, 'audit', 'audit.jsonl');
  const original = readFileSync(file, 'utf8');
  const env = { ...process.env, REKEY_DATA_DIR: dataDir, REKEY_LOG_LEVEL: 'silent' };
  const verify = () => spawnSync(process.execPath, [BIN, 'audit', 'verify', '--file', file], { env, encoding: 'utf8', timeout: 60_000 });
  try {
    let r = verify();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /audit verify: OK/);
    const lines = original.split('\n').filter(Boolean);
    const eventLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.includes('"eventName"'));
    const [victim, vi] = eventLines[3]!;
    const victimSeq = (JSON.parse(victim) as AuditRecord).seq;
    const cases: [string, string[]][] = [
      ['edit', lines.map((l, i) => (i === vi ? l.replace('"Encrypt"', '"Decrypt"') : l))],
      ['delete', lines.filter((_, i) => i !== vi)],
      ['swap', lines.map((l, i) => (i === vi ? lines[vi + 1]! : i === vi + 1 ? lines[vi]! : l))],
      ['truncate', lines.slice(0, vi)],
    ];
    for (const [what, tampered] of cases) {
      writeFileSync(file, tampered.join('\n') + '\n');
      r = verify();
      assert.equal(r.status, 1, `${what}: ${r.stdout}`);
      assert.match(r.stdout, /audit verify: FAILED/, what);
      assert.match(r.stdout, new RegExp(`seq (${victimSeq}|${victimSeq - 1}|${victimSeq + 1})\\b`), `${what} names the event: ${r.stdout}`);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an unwritable only sink makes the request fail and change nothing', async () => {
  const s = await startTestServer({ env: { REKEY_AUDIT_STORE: 'false', REKEY_AUDIT_FILE: '/dev/full' } });
  try {
    const kms = s.kmsClient();
    await assert.rejects(kms.send(new K.CreateKeyCommand({ Description: 'must not exist' })), (e: any) => {
      assert.equal(e.name, 'InternalFailure');
      return true;
    });
    await assert.rejects(kms.send(new K.ListKeysCommand({})), (e: any) => e.name === 'InternalFailure');
    const keys = await s.kms.store.listKeyIds(undefined, 100);
    assert.deepEqual(keys, [], 'CreateKey changed nothing');
  } finally {
    await s.cleanup();
  }
});
