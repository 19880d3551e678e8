// Issue 17, item 2: rows written back with plain SQL (older copies saved by a storage administrator
// who has no root key) are detected: on read (the barrier refuses the value) and at the next start
// (RunningServer.rollbackAtStart, and a tamper log line). The attacks go straight at rekey.db, and
// at a shared PostgreSQL table as its administrator would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startPostgres } from './helpers/pg.ts';
import * as K from '@aws-sdk/client-kms';
import * as S from '@aws-sdk/client-secrets-manager';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { randomBytes } from '../src/crypto/index.ts';
import { setDiagnosticsSink, type DiagnosticLine } from '../src/diagnostics.ts';

let s: TestServer;
const tamperLines: DiagnosticLine[] = [];
let restore: () => void;
before(async () => {
  restore = setDiagnosticsSink((l) => { if (l.kind === 'tamper') tamperLines.push(l); });
  s = await startTestServer();
});
after(async () => { await s.cleanup(); restore(); });

interface Row { key: string; value: Buffer; version: number }
const sql = () => new Database(join(s.dataDir, 'rekey.db'));
function save(prefix: string): Row[] {
  const db = sql();
  try {
    return db.prepare('SELECT key, value, version FROM kv WHERE key >= ? AND key < ?').all(prefix, prefix + '\x7f') as Row[];
  } finally {
    db.close();
  }
}
/** Writes the saved rows back as they were (deleted rows reinserted, changed rows overwritten, versions too). */
function rollBack(rows: Row[]): void {
  const db = sql();
  try {
    const put = db.prepare('INSERT INTO kv (key, value, version) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version');
    for (const r of rows) put.run(r.key, r.value, r.version);
  } finally {
    db.close();
  }
}
const rolledBackRead = (path: string) => (e: Error) => {
  assert.equal(e.name, 'BarrierValueError');
  assert.match(e.message, new RegExp(`^stored value at ${path.replace(/[/.]/g, '\\$&')} .*\\(rolled back\\)$`));
  return true;
};

test('a deleted access key written back does not authenticate; detected on read and at start', async () => {
  const user = await s.iam.principals.createUser('rollback-user');
  const k = await s.iam.accessKeys.create(user);
  const creds = { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  await s.kmsClient(creds).send(new K.ListKeysCommand({})).catch((e: Error) => assert.equal(e.name, 'AccessDeniedException')); // authenticates
  const saved = [...save(`iam/access-keys/${k.accessKeyId}`), ...save('iam/user-keys/rollback-user/')];
  assert.equal(saved.length, 2);
  await s.iam.accessKeys.delete(k.accessKeyId, 'rollback-user');
  rollBack(saved);
  const path = `iam/access-keys/${k.accessKeyId}`;
  await assert.rejects(s.barrier.get(path), rolledBackRead(path));
  assert.ok(tamperLines.some((l) => l.path === path), 'a tamper line names the path');

  s = await s.restart();
  assert.ok(s.rollbackAtStart.includes(path), `start-up reports ${path}: ${JSON.stringify(s.rollbackAtStart)}`);
  const e = await s.kmsClient(creds).send(new K.ListKeysCommand({})).then(() => null, (x: Error & { $metadata?: { httpStatusCode?: number } }) => x);
  assert.ok(e, 'the resurrected key must not authenticate');
  assert.notEqual(e.name, 'AccessDeniedException', 'refused before authorization, not authenticated');
});

test('a key rolled back from Disabled to Enabled is detected; the key stays unusable', async () => {
  const kms = s.kmsClient();
  const keyId = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const saved = save(`kms/keys/${keyId}`);
  await kms.send(new K.DisableKeyCommand({ KeyId: keyId }));
  rollBack(saved);
  await assert.rejects(s.barrier.get(`kms/keys/${keyId}`), rolledBackRead(`kms/keys/${keyId}`));
  s = await s.restart();
  assert.ok(s.rollbackAtStart.includes(`kms/keys/${keyId}`), JSON.stringify(s.rollbackAtStart));
  await assert.rejects(s.kmsClient().send(new K.EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), (x: Error) => {
    assert.equal(x.name, 'KMSInternalException');
    return true;
  });
});

test('a secret rolled back to its older value is detected; GetSecretValue does not return it', async () => {
  const sm = s.secretsClient();
  await sm.send(new S.CreateSecretCommand({ Name: 'rollback/secret', SecretString: 'old-value' }));
  const saved = save('secrets/s/rollback/secret');
  assert.equal(saved.length, 1);
  await sm.send(new S.PutSecretValueCommand({ SecretId: 'rollback/secret', SecretString: 'new-value' }));
  rollBack(saved);
  await assert.rejects(s.barrier.get('secrets/s/rollback/secret'), rolledBackRead('secrets/s/rollback/secret'));
  s = await s.restart();
  assert.ok(s.rollbackAtStart.includes('secrets/s/rollback/secret'), JSON.stringify(s.rollbackAtStart));
  await assert.rejects(s.secretsClient().send(new S.GetSecretValueCommand({ SecretId: 'rollback/secret' })), (x: Error) => {
    assert.equal(x.name, 'InternalServiceError');
    return true;
  });
});

test('a revoked grant written back is detected; the grantee cannot use it', async () => {
  const kms = s.kmsClient();
  const keyId = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const grantee = await s.iam.principals.createUser('rollback-grantee');
  const gk = await s.iam.accessKeys.create(grantee);
  const { GrantId } = await kms.send(new K.CreateGrantCommand({ KeyId: keyId, GranteePrincipal: grantee.arn, Operations: ['Encrypt'] }));
  const saved = save(`kms/grants/${keyId}`);
  assert.equal(saved.length, 1);
  await kms.send(new K.RevokeGrantCommand({ KeyId: keyId, GrantId }));
  rollBack(saved);
  await assert.rejects(s.barrier.get(`kms/grants/${keyId}`), rolledBackRead(`kms/grants/${keyId}`));
  s = await s.restart();
  assert.ok(s.rollbackAtStart.includes(`kms/grants/${keyId}`), JSON.stringify(s.rollbackAtStart));
  const e = await s.kmsClient({ accessKeyId: gk.accessKeyId, secretAccessKey: gk.secretAccessKey })
    .send(new K.EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })).then(() => null, (x: Error) => x);
  assert.ok(e, 'the revoked grant must not allow Encrypt');
});

test('no false alarm: rows deleted and created again, updated, and read across restarts stay readable', async () => {
  const sm = s.secretsClient();
  for (let i = 0; i < 3; i++) {
    await sm.send(new S.CreateSecretCommand({ Name: 'rollback/again', SecretString: `v${i}` }));
    await sm.send(new S.PutSecretValueCommand({ SecretId: 'rollback/again', SecretString: `w${i}` }));
    await sm.send(new S.DeleteSecretCommand({ SecretId: 'rollback/again', ForceDeleteWithoutRecovery: true }));
  }
  await sm.send(new S.CreateSecretCommand({ Name: 'rollback/again', SecretString: 'last' }));
  const user = await s.iam.principals.createUser('rollback-again');
  const k = await s.iam.accessKeys.create(user);
  s = await s.restart();
  const before = s.rollbackAtStart.length;
  assert.equal((await s.secretsClient().send(new S.GetSecretValueCommand({ SecretId: 'rollback/again' }))).SecretString, 'last');
  assert.equal((await s.iam.accessKeys.get(k.accessKeyId))?.accessKeyId, k.accessKeyId);
  s = await s.restart();
  assert.equal(s.rollbackAtStart.length, before, 'nothing new reported');
});

test('postgres, two nodes: a DBA rolls a deleted access key and a disabled key back with SQL; the node that made the change refuses both', async () => {
  const pgs = await startPostgres();
  // both nodes need the same root key; the store reads it from the process environment
  process.env['REKEY_ROOT_KEY'] = randomBytes(32).toString('hex');
  const env = { REKEY_STORAGE: 'postgres', REKEY_POSTGRES_URL: pgs.url, REKEY_ROOT_KEY: process.env['REKEY_ROOT_KEY'], REKEY_INSECURE_HTTP: '1' };
  let a = await startTestServer({ env });
  const b = await startTestServer({ env });
  const c = new pg.Client({ connectionString: pgs.url });
  try {
    await c.connect();
    const saveRows = async (prefix: string) => (await c.query<Row>('SELECT key, value, version FROM rekey_kv WHERE key >= $1 AND key < $2', [prefix, prefix + '\x7f'])).rows;
    const user = await a.iam.principals.createUser('pg-rollback');
    const k = await a.iam.accessKeys.create(user);
    const keyId = (await b.kmsClient().send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    assert.equal((await a.kmsClient().send(new K.DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'Enabled');
    assert.equal((await a.iam.accessKeys.get(k.accessKeyId))?.accessKeyId, k.accessKeyId);
    const saved = [...await saveRows(`iam/access-keys/${k.accessKeyId}`), ...await saveRows('iam/user-keys/pg-rollback/'), ...await saveRows(`kms/keys/${keyId}`)];
    assert.equal(saved.length, 3);
    await a.iam.accessKeys.delete(k.accessKeyId, 'pg-rollback');
    await a.kmsClient().send(new K.DisableKeyCommand({ KeyId: keyId }));
    for (const r of saved) {
      await c.query('INSERT INTO rekey_kv (key, value, version) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version', [r.key, r.value, r.version]);
    }
    await assert.rejects(a.barrier.get(`iam/access-keys/${k.accessKeyId}`), rolledBackRead(`iam/access-keys/${k.accessKeyId}`));
    await assert.rejects(a.barrier.get(`kms/keys/${keyId}`), rolledBackRead(`kms/keys/${keyId}`));
    a = await a.restart();
    assert.deepEqual([...a.rollbackAtStart].filter((p) => p.includes(k.accessKeyId) || p.includes(keyId)).sort(),
      [`iam/access-keys/${k.accessKeyId}`, `kms/keys/${keyId}`].sort());
    const e = await a.kmsClient({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }).send(new K.ListKeysCommand({})).then(() => null, (x: Error) => x);
    assert.ok(e && e.name !== 'AccessDeniedException', `refused before authorization: ${e?.name}`);
  } finally {
    await c.end().catch(() => {});
    await b.cleanup();
    await a.cleanup();
    await pgs.stop();
    delete process.env['REKEY_ROOT_KEY'];
  }
});
