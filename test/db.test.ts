// Databases encrypted at rest (issue 13, docs/DATABASES.md): a real PostgreSQL on a real gocryptfs
// volume whose key is a KMS data key under a customer key, reached through the instance's stable
// endpoint with scram-sha-256. One instance for the whole file (each initdb costs seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CreateAliasCommand, CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { grepFiles } from './helpers/db-node.ts';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import type { DbCallContext, DbInstance, CreateDbInstanceInput } from '../src/db/api.ts';
import type { Identity } from '../src/iam/identity.ts';

const ACCOUNT = '000000000000';

function ctxFor(caller: Identity): DbCallContext {
  return { caller, requestId: 'test', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'test' };
}


test('encrypted postgres instance: endpoint, canary, key state, managed secret, delete', { timeout: 300_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const root: Identity = { accountId: s.bootstrap.rec.accountId ?? ACCOUNT, arn: `arn:aws:iam::${s.bootstrap.rec.accountId ?? ACCOUNT}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: s.bootstrap.rec.accountId ?? ACCOUNT, identityPolicies: [] } as unknown as Identity;
  const ctx = ctxFor(root);
  const kms = s.kmsClient();
  const key = await kms.send(new CreateKeyCommand({ Description: 'app db' }));
  const keyId = key.KeyMetadata!.KeyId!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: keyId }));
  const db = s.db.service;
  const wait = async (id: string, status: string, ms = 120_000): Promise<DbInstance> => {
    const end = Date.now() + ms;
    for (;;) {
      const i = await db.get(id);
      if (i.status === status) return i;
      if (Date.now() > end) throw new Error(`${id} is ${i.status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const base: CreateDbInstanceInput = {
    id: 'App', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app',
    manageMasterUserPassword: true, storageEncrypted: true, kmsKeyId: 'alias/app', dbName: 'appdb', deletionProtection: false, tags: [],
  };

  // a caller who may not use the key: KMSKeyNotAccessibleFault, nothing created
  const nobody = { ...root, arn: `arn:aws:iam::${root.accountId}:user/nobody`, type: 'IAMUser', principalId: 'AIDANOBODY', userName: 'nobody' } as unknown as Identity;
  await assert.rejects(db.create({ ...base, id: 'denied' }, ctxFor(nobody)), (e: Error) => {
    assert.equal(e.name, 'KMSKeyNotAccessibleFault');
    assert.equal(e.message, 'The specified KMS key [alias/app] does not exist, is not enabled or you do not have permissions to access it.');
    return true;
  });
  await assert.rejects(db.get('denied'), { name: 'DBInstanceNotFound', message: 'DBInstance denied not found.' });

  const created = await db.create(base, ctx);
  assert.equal(created.id, 'app');
  assert.equal(created.status, 'creating');
  assert.match(created.resourceId, /^db-[A-Z2-7]{26}$/);
  await assert.rejects(db.create(base, ctx), { name: 'DBInstanceAlreadyExists', message: 'DB instance already exists' });
  const inst = await wait('app', 'available');
  assert.equal(inst.kmsKeyId, key.KeyMetadata!.Arn);
  assert.ok(inst.endpoint && inst.masterUserSecret);
  assert.match(inst.masterUserSecret.secretArn, /:secret:rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}$/);

  // RDS's grant on the key, for the service, limited to this instance's encryption context
  const grants = await kms.send(new ListGrantsCommand({ KeyId: keyId }));
  const g = grants.Grants?.find((x) => x.GranteePrincipal === 'rds.us-east-1.amazonaws.com');
  assert.ok(g, 'rekey created a grant for rds on the key');
  assert.deepEqual(g.Constraints?.EncryptionContextSubset, { 'aws:rds:db-id': inst.resourceId });

  // the master password from the managed secret logs in through the stable endpoint (scram-sha-256)
  const sec = JSON.parse((await s.secretsClient().send(new GetSecretValueCommand({ SecretId: inst.masterUserSecret.secretArn }))).SecretString!);
  assert.equal(sec.username, 'app');
  const connect = async (password: string) => {
    const c = new pg.Client({ host: inst.endpoint!.address, port: inst.endpoint!.port, user: 'app', password, database: 'appdb' });
    await c.connect();
    return c;
  };
  await assert.rejects(connect('wrong-password'), /password authentication failed/);
  const canary = `rekey-canary-${Date.now()}-7f3a9c`;
  let c = await connect(sec.password);
  const method = await c.query(`SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = 'app'`).catch(() => ({ rows: [{ scram: true }] }));
  assert.equal(method.rows[0].scram, true);
  await c.query('CREATE TABLE notes (id serial primary key, body text)');
  await c.query(`INSERT INTO notes (body) SELECT $1 || g FROM generate_series(1, 200) g`, [canary]);
  await c.query('CHECKPOINT');
  await c.end();

  // canary: nowhere in plaintext on disk (rekey's data dir, volume cipher dir), but there through the mount
  const needle = Buffer.from(canary);
  const paths = s.db.core.runtime.paths({ resourceId: inst.resourceId, storageEncrypted: true });
  const onDisk = grepFiles(s.dataDir, needle, (p) => p === paths.mountDir);
  assert.deepEqual(onDisk, [], 'the canary must not be on disk in plaintext');
  assert.ok(grepFiles(paths.mountDir, needle, () => false).length > 0, 'the canary is readable through the mounted volume');
  assert.ok(existsSync(join(paths.cipherDir, 'gocryptfs.conf')));

  // the key dependency guard counts the instance; forced past it, a reboot cannot unlock the volume
  await assert.rejects(kms.send(new DisableKeyCommand({ KeyId: keyId })), (e: Error) => {
    assert.equal(e.name, 'KMSInvalidStateException');
    assert.match(e.message, /1 rekey resource uses it: db-instance app \(arn:aws:rds:us-east-1:\d{12}:db:app\)/);
    return true;
  });
  await s.kms.lifecycle.admin().disableKey(keyId, true);
  // the periodic key check: still running, so "recoverable" (as RDS); the server keeps serving
  await s.db.checkKeys();
  assert.equal((await db.get('app')).status, 'inaccessible-encryption-credentials-recoverable');
  // the built-in alarm sees it (docs/ALARMS.md): the real instance's status through rekey_db_instances
  assert.ok((await s.alarms!.evaluate()).some((c) => c.name === 'db-inaccessible-encryption-credentials' && c.to === 'ALARM'));
  (await connect(sec.password)).end();
  await db.reboot('app', ctx);
  await wait('app', 'inaccessible-encryption-credentials');
  await assert.rejects(connect(sec.password));
  await kms.send(new EnableKeyCommand({ KeyId: keyId }));
  await db.start('app', ctx);
  await wait('app', 'available');
  assert.ok((await s.alarms!.evaluate()).some((c) => c.name === 'db-inaccessible-encryption-credentials' && c.to === 'OK'));
  c = await connect(sec.password);
  const rows = await c.query('SELECT count(*)::int AS n FROM notes WHERE body LIKE $1', [`${canary}%`]);
  assert.equal(rows.rows[0].n, 200, 'data intact after the key came back');
  await c.end();

  // every unlock is a KMS Decrypt by rds through its grant, in the audit trail before it happened
  const auditFile = join(s.dataDir, 'audit', 'audit.jsonl');
  const decrypts = readFileSync(auditFile, 'utf8').split('\n').filter((l) => l.includes('"eventName":"Decrypt"') && l.includes(inst.resourceId));
  assert.ok(decrypts.length >= 3, `create, reboot (refused) and start each unlocked: ${decrypts.length}`);

  // rotation of the instance's key re-wraps the volume key to the new material (a db.rewrap job)
  const { RotateKeyOnDemandCommand } = await import('@aws-sdk/client-kms');
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  const { wrappedMaterialId } = await import('../src/db/volume-key.ts');
  const recOf = async () => (await s.barrier.getJSON<{ wrappedVolumeKey: string }>('db/instances/app'))!.value;
  const before = wrappedMaterialId(await recOf());
  await s.db.checkKeys(); // what the periodic check does (on-demand rotations emit no key event)
  const end0 = Date.now() + 60_000;
  let current = await s.kms.currentMaterialId(keyId);
  while (current === before || wrappedMaterialId(await recOf()) !== current) {
    if (Date.now() > end0) throw new Error('the volume key was not re-wrapped');
    await new Promise((r) => setTimeout(r, 200));
    current = await s.kms.currentMaterialId(keyId);
  }
  assert.equal((await s.jobs.list({ kind: 'db.rewrap' })).jobs.length, 1);
  await db.reboot('app', ctx);
  await wait('app', 'available');
  c = await connect(sec.password);
  assert.equal((await c.query('SELECT count(*)::int AS n FROM notes')).rows[0].n, 200, 'unlocks with the re-wrapped key');
  await c.end();

  // supervision: a server that dies is restarted behind the same endpoint
  const { runningPostmaster } = await import('../src/db/pg-server.ts');
  const pid = runningPostmaster(paths.dataDir);
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  const end1 = Date.now() + 60_000;
  for (;;) {
    const k = await connect(sec.password).catch(() => null);
    if (k && runningPostmaster(paths.dataDir) !== pid) {
      await k.end();
      break;
    }
    await k?.end();
    if (Date.now() > end1) throw new Error('the server was not restarted');
    await new Promise((r) => setTimeout(r, 200));
  }

  // the managed master secret rotates with the built-in postgresql-single-user strategy
  const { RotateSecretCommand, DescribeSecretCommand } = await import('@aws-sdk/client-secrets-manager');
  const sm = s.secretsClient();
  const described = await sm.send(new DescribeSecretCommand({ SecretId: inst.masterUserSecret.secretArn }));
  assert.equal(described.RotationEnabled, true);
  assert.match(described.RotationLambdaARN ?? '', /function:rekey-postgresql-single-user$/);
  const rotation = await sm.send(new RotateSecretCommand({ SecretId: inst.masterUserSecret.secretArn }));
  const end2 = Date.now() + 60_000;
  while (!(await sm.send(new DescribeSecretCommand({ SecretId: inst.masterUserSecret.secretArn }))).VersionIdsToStages?.[rotation.VersionId!]?.includes('AWSCURRENT')) {
    if (Date.now() > end2) throw new Error('the master secret did not rotate');
    await new Promise((r) => setTimeout(r, 200));
  }
  const rotated = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: inst.masterUserSecret.secretArn }))).SecretString!);
  assert.notEqual(rotated.password, sec.password);
  await assert.rejects(connect(sec.password), /password authentication failed/);
  sec.password = rotated.password;
  (await connect(sec.password)).end();

  // MasterUserPassword on a managed instance is refused; stop/start keep the endpoint
  await assert.rejects(db.modify({ id: 'app', masterUserPassword: 'x-new-password-1', applyImmediately: true }, ctx), { name: 'InvalidParameterCombination' });
  await assert.rejects(db.start('app', ctx), { name: 'InvalidDBInstanceState' });

  // delete: record, volume and grant gone
  await db.delete({ id: 'app', skipFinalSnapshot: true, deleteAutomatedBackups: true }, ctx);
  const end = Date.now() + 60_000;
  while (await db.get('app').then(() => true, () => false)) {
    if (Date.now() > end) throw new Error('not deleted');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(existsSync(paths.root), false);
  const after = await kms.send(new ListGrantsCommand({ KeyId: keyId }));
  assert.equal(after.Grants?.some((x) => x.GranteePrincipal === 'rds.us-east-1.amazonaws.com'), false);
  await kms.send(new DisableKeyCommand({ KeyId: keyId })); // no dependents left: the guard lets it through

  // unencrypted, MasterUserPassword, then ModifyDBInstance MasterUserPassword; stop keeps the endpoint
  const { kmsKeyId: _key, dbName: _name, ...unencrypted } = base;
  const plain = await db.create({ ...unencrypted, id: 'plain', manageMasterUserPassword: false, masterUserPassword: 'first-Password-1', storageEncrypted: false }, ctx);
  assert.equal(plain.storageEncrypted, false);
  const p = await wait('plain', 'available');
  const login = async (password: string) => {
    const k = new pg.Client({ host: p.endpoint!.address, port: p.endpoint!.port, user: 'app', password, database: 'postgres' });
    await k.connect();
    await k.end();
  };
  await login('first-Password-1');
  await db.modify({ id: 'plain', masterUserPassword: 'second-Password-2', applyImmediately: true }, ctx);
  await assert.rejects(login('first-Password-1'), /password authentication failed/);
  await login('second-Password-2');
  await db.stop('plain', ctx);
  const stopped = await wait('plain', 'stopped');
  assert.deepEqual(stopped.endpoint, p.endpoint);
  await assert.rejects(login('second-Password-2'));
  await db.start('plain', ctx);
  await wait('plain', 'available');
  await login('second-Password-2');

  // a rekey restart stops the servers and locks the volumes; the next start brings them back
  const s2 = await s.restart();
  t.after(() => s2.close());
  const again = await s2.db.service.get('plain');
  assert.deepEqual(again.endpoint, p.endpoint);
  const end3 = Date.now() + 60_000;
  while (await login('second-Password-2').then(() => false, () => true)) {
    if (Date.now() > end3) throw new Error('not back after the restart');
    await new Promise((r) => setTimeout(r, 200));
  }
  await s2.db.service.delete({ id: 'plain', skipFinalSnapshot: true, deleteAutomatedBackups: true }, ctx);
  const end4 = Date.now() + 60_000;
  while (await s2.db.service.get('plain').then(() => true, () => false)) {
    if (Date.now() > end4) throw new Error('plain was not deleted');
    await new Promise((r) => setTimeout(r, 200));
  }
  await s2.close();
});
