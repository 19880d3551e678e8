// keyserve's Vault KV v2 subset (what MariaDB's hashicorp_key_management plugin sends) and its admin
// API, against the real server: key reads by id and version, a KMS rotation adding versions, tokens
// scoped, policy-checked, audited and revocable, a disabled KMS key, Vault-shaped errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { adminCall, type AdminConnection } from '../src/cli/admin-client.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';

let s: TestServer;
let conn: AdminConnection;
let keyId: string;

before(async () => {
  s = await startTestServer();
  conn = { endpoint: new URL(s.url), region: 'us-east-1', credentials: TEST_CREDS };
  keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
});
after(async () => s.cleanup());

async function vault(path: string, token?: string, method = 'GET'): Promise<{ status: number; json: any }> {
  const r = await fetch(s.url + path, { method, headers: token ? { 'x-vault-token': token } : {} });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

test('a keyring serves keys 1 and 2 as 32-byte hex, by latest and by version, with the KV v2 metadata', async () => {
  const ring = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'shop', kmsKeyId: keyId } });
  assert.deepEqual(ring.keys.map((k: any) => [k.keyId, k.latestVersion]), [[1, 1], [2, 1]]);
  const { token, accessor } = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: { description: 'test' } });
  assert.match(token, /^rk\./);
  const tune = await vault('/v1/sys/mounts/mariadb/shop/tune', token);
  assert.equal(tune.status, 200);
  assert.equal(tune.json.options.version, '2');
  const k1 = await vault('/v1/mariadb/shop/data/1', token);
  assert.equal(k1.status, 200);
  assert.match(k1.json.data.data.data, /^[0-9A-F]{64}$/);
  assert.equal(k1.json.data.metadata.version, 1);
  const k1v1 = await vault('/v1/mariadb/shop/data/1?version=1', token);
  assert.equal(k1v1.json.data.data.data, k1.json.data.data.data);
  const k2 = await vault('/v1/mariadb/shop/data/2', token);
  assert.notEqual(k2.json.data.data.data, k1.json.data.data.data);
  // never in the audit trail: the key, the token
  await s.audit.settled();
  const all = JSON.stringify(await s.audit.lookup({ maxResults: 1000 }));
  assert.ok(!all.includes(k1.json.data.data.data) && !all.includes(token), 'no key or token in the audit trail');
  const reads = (await s.audit.lookup({ eventName: 'GetMariaDbKey', maxResults: 1000 })).events;
  assert.ok(reads.length >= 4 && JSON.stringify(reads).includes(accessor), 'reads are audited with the token accessor');
});

test('RotateKeyOnDemand -> the next read of the latest version is version 2; version 1 stays readable', async () => {
  const { token } = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} });
  const before1 = (await vault('/v1/mariadb/shop/data/1', token)).json.data.data.data;
  await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  s.kms.store.invalidateKey(keyId);
  const latest = await vault('/v1/mariadb/shop/data/1', token);
  assert.equal(latest.json.data.metadata.version, 2);
  assert.notEqual(latest.json.data.data.data, before1);
  assert.equal((await vault('/v1/mariadb/shop/data/1?version=1', token)).json.data.data.data, before1);
  assert.equal((await vault('/v1/mariadb/shop/data/2', token)).json.data.metadata.version, 2, 'every key under the KMS key got a version');
  const ring = await adminCall<any>(conn, { method: 'GET', path: '/v1/keyserve/keyrings/shop' });
  assert.deepEqual(ring.keys.map((k: any) => k.latestVersion), [2, 2]);
});

test('Vault-shaped errors: no token, bad token, other keyring, unknown paths, versions and keys, other methods', async () => {
  const { token } = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} });
  await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'other', kmsKeyId: keyId, keyIds: [1] } });
  for (const [path, tok, status, errors] of [
    ['/v1/mariadb/shop/data/1', undefined, 403, ['permission denied']],
    ['/v1/mariadb/shop/data/1', 'rk.' + 'A'.repeat(43), 403, ['permission denied']],
    ['/v1/mariadb/shop/data/1', 'garbage', 403, ['permission denied']],
    ['/v1/mariadb/other/data/1', token, 403, ['permission denied']],
    ['/v1/mariadb/shop/data/9', token, 404, []],
    ['/v1/mariadb/shop/data/1?version=99', token, 404, []],
    ['/v1/mariadb/shop/data/1?version=x', token, 400, ['invalid version']],
    ['/v1/mariadb/shop/metadata/1', token, 404, []],
    ['/v1/mariadb/shop/data/0', token, 404, []],
    ['/v1/mariadb/shop', token, 404, []],
    ['/v1/sys/mounts/mariadb/shop/other', token, 404, []],
  ] as const) {
    const r = await vault(path, tok);
    assert.equal(r.status, status, path);
    assert.deepEqual(r.json, { errors }, path);
  }
  const del = await vault('/v1/mariadb/shop/data/1', token, 'DELETE');
  assert.equal(del.status, 405);
  assert.deepEqual(del.json, { errors: [] });
});

test('a revoked token is refused at once; the principal\'s policy is checked at every read', async () => {
  const { token, accessor } = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} });
  assert.equal((await vault('/v1/mariadb/shop/data/1', token)).status, 200);
  const r = await adminCall<any>(conn, { method: 'DELETE', path: `/v1/keyserve/keyrings/shop/tokens/${accessor}` });
  assert.ok(r.revokedAt);
  const after = await vault('/v1/mariadb/shop/data/1', token);
  assert.deepEqual([after.status, after.json], [403, { errors: ['permission denied'] }]);
  const list = await adminCall<any>(conn, { method: 'GET', path: '/v1/keyserve/keyrings/shop/tokens' });
  assert.ok(list.tokens.find((t: any) => t.accessor === accessor).revokedAt);
  assert.ok(!JSON.stringify(list).includes(token));

  // an IAM user allowed to issue tokens, whose read permission is later taken away
  await adminCall(conn, { method: 'POST', path: '/v1/iam/users', body: { UserName: 'dba' } });
  const key = await adminCall<any>(conn, { method: 'POST', path: '/v1/iam/users/dba/access-keys' });
  const allow = (actions: string[]) => adminCall(conn, { method: 'PUT', path: '/v1/iam/users/dba/policies/ks', body: { PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }) } });
  await allow(['rekey:CreateMariaDbToken', 'rekey:GetMariaDbKey']);
  const dba: AdminConnection = { ...conn, credentials: { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey } };
  const t2 = (await adminCall<any>(dba, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} })).token;
  assert.equal((await vault('/v1/mariadb/shop/data/1', t2)).status, 200);
  await allow(['rekey:CreateMariaDbToken']);
  await until(async () => (await vault('/v1/mariadb/shop/data/1', t2)).status === 403);
});

test('a disabled KMS key stops every read (403 naming DisabledException); enabled again, reads resume', async () => {
  const { token } = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} });
  await s.kmsClient().send(new DisableKeyCommand({ KeyId: keyId }));
  s.kms.store.invalidateKey(keyId);
  const r = await vault('/v1/mariadb/shop/data/1?version=1', token);
  assert.equal(r.status, 403);
  assert.match(r.json.errors[0], /DisabledException/);
  await s.kmsClient().send(new EnableKeyCommand({ KeyId: keyId }));
  s.kms.store.invalidateKey(keyId);
  assert.equal((await vault('/v1/mariadb/shop/data/1?version=1', token)).status, 200);
});

test('admin API: validation and existence errors in the admin shape', async () => {
  await assert.rejects(adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'shop', kmsKeyId: keyId } }), /AlreadyExists/);
  await assert.rejects(adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'Bad Name', kmsKeyId: keyId } }), /Validation/);
  await assert.rejects(adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'nokey', kmsKeyId: 'alias/none' } }), /NotFound/);
  await assert.rejects(adminCall(conn, { method: 'GET', path: '/v1/keyserve/keyrings/none' }), /NotFound/);
  const ring = await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/keys', body: { keyId: 7 } });
  assert.ok(ring.keys.some((k: any) => k.keyId === 7 && k.latestVersion === 1));
  await assert.rejects(adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/keys', body: { keyId: 7 } }), /AlreadyExists/);
  await assert.rejects(adminCall(conn, { method: 'DELETE', path: '/v1/keyserve/keyrings/shop/tokens/000000000000000000000000' }), /NotFound/);
});

async function until(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('rekey db mariadb-config creates the keyring, issues a token and prints a [mariadb] block that reads the keys', async () => {
  const r = await rekeyCli(['db', 'mariadb-config', 'cli-ring', '--kms-key-id', keyId, '--endpoint', s.url]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /^\[mariadb\]$/m);
  assert.match(r.out, /^innodb_encrypt_tables = FORCE$/m);
  const url = /^hashicorp_key_management_vault_url = (.+)$/m.exec(r.out)![1]!;
  const token = /^hashicorp_key_management_token = (.+)$/m.exec(r.out)![1]!;
  assert.equal(url, `${s.url}/v1/mariadb/cli-ring`);
  const k = await vault(new URL(url).pathname + '/data/1', token);
  assert.equal(k.status, 200);
  const again = await rekeyCli(['db', 'mariadb-config', 'cli-ring', '--kms-key-id', keyId, '--endpoint', s.url]);
  assert.equal(again.status, 0, 'an existing keyring is reused');
  assert.notEqual(/^hashicorp_key_management_token = (.+)$/m.exec(again.out)![1], token, 'each run issues a new token');
});

test('a key read that cannot be audited is refused (500, Vault shape) and serves no key; unknown paths are audited too', async () => {
  const unknown = await vault('/v1/mariadb/shop/nothing/here');
  assert.equal(unknown.status, 404);
  await s.audit.settled();
  const ev = (await s.audit.lookup({ eventName: 'GetMariaDbKey', maxResults: 5 })).events.map((r) => r.event);
  assert.ok(ev.some((e) => e.errorCode === 'NotFound'), 'the unknown path has its event');

  const f = await startTestServer({ env: { REKEY_AUDIT_STORE: 'false', REKEY_AUDIT_FILE: '/dev/full' } });
  try {
    const root = { type: 'Root' as const, arn: `arn:aws:iam::${f.iam.accountId}:root`, accountId: f.iam.accountId, accessKeyId: 'test', principalId: f.iam.accountId, identityPolicies: [] };
    const key = (await f.kms.call('CreateKey', {}, root)) as { KeyMetadata: { KeyId: string } };
    await f.keyserve.createKeyring('quiet', key.KeyMetadata.KeyId, [1], { caller: root, request: {} });
    const { token } = await f.keyserve.issueToken('quiet', undefined, { caller: root, request: {} });
    const r = await fetch(`${f.url}/v1/mariadb/quiet/data/1`, { headers: { 'x-vault-token': token } });
    assert.equal(r.status, 500);
    assert.deepEqual(await r.json(), { errors: ['The request could not be audited; it was not performed.'] });
  } finally {
    await f.cleanup();
  }
});

test('an automatic (job) rotation of the KMS key adds a version to every key at once, through the RotateKey key event', async () => {
  const k = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'auto', kmsKeyId: k, keyIds: [1, 5] } });
  const materialId = await s.kms.currentMaterialId(k);
  // the kms.rotate job as a usage budget starts it (no read of the keyring in between)
  await s.jobs.enqueue({ kind: 'kms.rotate', target: k, data: { keyId: k, trigger: 'budget', materialId }, runAt: Date.now() });
  await until(async () => {
    const ring = await adminCall<any>(conn, { method: 'GET', path: '/v1/keyserve/keyrings/auto' });
    return ring.keys.every((x: any) => x.latestVersion === 2);
  });
  const ring = await adminCall<any>(conn, { method: 'GET', path: '/v1/keyserve/keyrings/auto' });
  const now = await s.kms.currentMaterialId(k);
  assert.notEqual(now, materialId);
  assert.ok(ring.keys.every((x: any) => x.latestMaterialId === now), 'the new versions are under the new material');
  await s.audit.settled();
  assert.ok((await s.audit.lookup({ eventName: 'KeyVersionsAdded', maxResults: 10 })).events.length >= 1, 'the versions added are a service event');
});

test('service keyrings (RDS mariadb instances): owned, version step 2, a service token scoped to the keyring, deleted with its tokens', async () => {
  const ks = s.keyserve;
  const svc = 'rds.us-east-1.amazonaws.com';
  const key = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!;
  // a user's keyring is not the service's: neither taken over, nor tokened, nor deleted
  await assert.rejects(ks.ensureServiceKeyring('shop', key.Arn!, svc), { name: 'AlreadyExistsException', message: 'Keyring shop already exists.' });
  await assert.rejects(ks.issueServiceToken('shop', svc, 'x'), { name: 'AccessDeniedException', message: `Keyring shop does not belong to ${svc}.` });
  await assert.rejects(ks.deleteServiceKeyring('shop', svc), { name: 'AccessDeniedException' });
  const made = await ks.ensureServiceKeyring('rds-db-test', key.Arn!, svc);
  assert.deepEqual(await ks.ensureServiceKeyring('rds-db-test', key.Arn!, svc), made, 'idempotent');
  const { token } = await ks.issueServiceToken('rds-db-test', svc, 'RDS instance test');
  const v1 = await vault('/v1/mariadb/rds-db-test/data/1', token);
  assert.equal(v1.json.data.metadata.version, 1);
  await assert.rejects(ks.issueServiceToken('rds-db-test', 'other.amazonaws.com', 'x'), { name: 'AccessDeniedException' });
  // the token reads only its keyring, and acts as the service in the audit trail
  assert.equal((await vault('/v1/mariadb/shop/data/1', token)).status, 403);
  await s.audit.settled();
  const reads = (await s.audit.lookup({ eventName: 'GetMariaDbKey', maxResults: 1000 })).events;
  assert.ok(JSON.stringify(reads).includes(`"arn":"${svc}"`), 'reads name the service principal');
  // one rotation: version 3 (InnoDB moves pages only at two versions behind); 1 stays, 2 never exists
  await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
  s.kms.store.invalidateKey(key.KeyId!);
  assert.deepEqual([...(await ks.latestVersions('rds-db-test'))], [[1, 3], [2, 3]]);
  assert.equal((await vault('/v1/mariadb/rds-db-test/data/1', token)).json.data.metadata.version, 3);
  assert.equal((await vault('/v1/mariadb/rds-db-test/data/1?version=1', token)).json.data.data.data, v1.json.data.data.data);
  assert.equal((await vault('/v1/mariadb/rds-db-test/data/1?version=2', token)).status, 404);
  // deleted (the instance was): keyring and token gone; again is a no-op
  await ks.deleteServiceKeyring('rds-db-test', svc);
  await ks.deleteServiceKeyring('rds-db-test', svc);
  assert.equal((await vault('/v1/mariadb/rds-db-test/data/1', token)).status, 403);
  await assert.rejects(ks.describe('rds-db-test'), { name: 'NotFoundException' });
});

test('retireBelow: only the owner\'s keyring, never the newest version, idempotent; a retired version answers 404 as Vault does', async () => {
  const ks = s.keyserve;
  await adminCall<any>(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'mine', kmsKeyId: keyId } });
  await assert.rejects(ks.retireBelow('mine', new Map([[1, 9]]), 'rds.us-east-1.amazonaws.com', 'test'),
    (e: Error) => e.name === 'AccessDeniedException' && /Keyring mine does not belong to rds\.us-east-1\.amazonaws\.com/.test(e.message));
  const svc = 'rds.us-east-1.amazonaws.com';
  await ks.ensureServiceKeyring('rds-retire', keyId, svc);
  const { token } = await ks.issueServiceToken('rds-retire', svc, 'test');
  await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  assert.deepEqual([...(await ks.latestVersions('rds-retire'))], [[1, 3], [2, 3]]);
  // a floor above the newest retires everything but the newest; key 2 untouched
  assert.deepEqual(await ks.retireBelow('rds-retire', new Map([[1, 99]]), svc, 'test'), ['1:1']);
  assert.deepEqual(await ks.retireBelow('rds-retire', new Map([[1, 99]]), svc, 'test'), [], 'idempotent');
  assert.deepEqual([...(await ks.versionsOf('rds-retire'))].map(([id, v]) => [id, v.served.map((x) => x.version), v.retired]), [[1, [3], [1]], [2, [1, 3], []]]);
  const gone = await vault('/v1/mariadb/rds-retire/data/1?version=1', token);
  assert.deepEqual([gone.status, gone.json], [404, { errors: [] }]);
  assert.equal((await vault('/v1/mariadb/rds-retire/data/1?version=3', token)).json.data.metadata.version, 3);
  assert.equal((await vault('/v1/mariadb/rds-retire/data/2?version=1', token)).status, 200);
  const ev = (await s.audit.lookup({ eventName: 'KeyVersionsRetired', maxResults: 10 })).events;
  assert.deepEqual(ev.map((r) => (r.event as { additionalEventData?: Record<string, unknown> }).additionalEventData?.['versions']), ['1:1']);
  // a new rotation after the retirement: versions go on from the newest
  await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  assert.deepEqual([...(await ks.latestVersions('rds-retire'))], [[1, 5], [2, 5]]);
});
