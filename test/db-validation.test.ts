// CreateDBInstance and friends refuse bad input with RDS's fault names and change nothing: no
// record, no volume, no managed secret, no grant (issue 13, "Bad input"). No instance is started
// here, so the file is fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { CreateKeyCommand, DisableKeyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import type { CreateDbInstanceInput, DbCallContext } from '../src/db/api.ts';
import type { Identity } from '../src/iam/identity.ts';

test('bad CreateDBInstance input: typed RDS faults, nothing created', async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const account = s.bootstrap.rec.accountId ?? '000000000000';
  const root = { accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: account, identityPolicies: [] } as unknown as Identity;
  const ctx: DbCallContext = { caller: root, requestId: 'r', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 't' };
  const db = s.db.service;
  const kms = s.kmsClient();
  const disabled = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }));
  const base: CreateDbInstanceInput = {
    id: 'bad', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app',
    masterUserPassword: 'Password-123', manageMasterUserPassword: false, storageEncrypted: true, deletionProtection: false, tags: [],
  };
  const cases: [string, CreateDbInstanceInput, string, string | RegExp][] = [
    ['mariadb version not installed', { ...base, engine: 'mariadb', engineVersion: '99' }, 'InvalidParameterCombination', 'Cannot find version 99 for mariadb'],
    ['engine version not installed', { ...base, engineVersion: '99' }, 'InvalidParameterCombination', 'Cannot find version 99 for postgres'],
    ['both password forms', { ...base, manageMasterUserPassword: true }, 'InvalidParameterCombination', 'You can\'t specify both MasterUserPassword and ManageMasterUserPassword.'],
    ['no password', { ...base, masterUserPassword: undefined as unknown as string }, 'InvalidParameterValue', 'The parameter MasterUserPassword must be provided and must not be blank.'],
    ['key without encryption', { ...base, storageEncrypted: false, kmsKeyId: disabled.KeyId! }, 'InvalidParameterCombination', 'Encryption key was specified but StorageEncrypted is not true.'],
    ['reserved master user name', { ...base, masterUsername: 'rekey_admin' }, 'InvalidParameterValue', 'MasterUsername rekey_admin cannot be used as it is a reserved word used by the engine'],
    ['unknown key', { ...base, kmsKeyId: 'alias/nope' }, 'KMSKeyNotAccessibleFault', 'The specified KMS key [alias/nope] does not exist, is not enabled or you do not have permissions to access it.'],
    ['disabled key', { ...base, kmsKeyId: disabled.Arn! }, 'KMSKeyNotAccessibleFault', `The specified KMS key [${disabled.Arn}] does not exist, is not enabled or you do not have permissions to access it.`],
  ];
  for (const [what, input, name, message] of cases) {
    const { masterUserPassword, ...rest } = input;
    const clean = masterUserPassword === undefined ? rest : input;
    await assert.rejects(db.create(clean as CreateDbInstanceInput, ctx), (e: Error) => {
      assert.equal(e.name, name, what);
      if (typeof message === 'string') assert.equal(e.message, message, what);
      else assert.match(e.message, message, what);
      return true;
    });
  }
  // without gocryptfs/FUSE: refused, naming what to install
  const core = s.db.core as unknown as { tools: unknown };
  const tools = core.tools;
  core.tools = 'StorageEncrypted needs gocryptfs and FUSE on the rekey host; missing: gocryptfs. Install them (Debian/Ubuntu: apt-get install gocryptfs fuse3) and make /dev/fuse available.';
  await assert.rejects(db.create({ ...base, manageMasterUserPassword: false }, ctx), { name: 'InvalidParameterCombination', message: /apt-get install gocryptfs fuse3/ });
  await assert.rejects(db.create({ ...base, masterUserPassword: undefined as unknown as string, manageMasterUserPassword: true } as CreateDbInstanceInput, ctx), { name: 'InvalidParameterCombination' });
  core.tools = tools;

  // nothing was created
  assert.deepEqual((await db.list({ limit: 100 })).instances, []);
  assert.equal((await s.secretsClient().send(new ListSecretsCommand({}))).SecretList?.length ?? 0, 0);
  assert.equal((await kms.send(new ListGrantsCommand({ KeyId: disabled.KeyId }))).Grants?.length ?? 0, 0);
  const dir = s.db.core.cfg.dir;
  assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
  assert.equal((await s.jobs.list({})).jobs.filter((j) => j.kind.startsWith('db.')).length, 0);

  // the other operations on an unknown instance
  for (const call of [() => db.get('ghost'), () => db.stop('ghost', ctx), () => db.start('ghost', ctx), () => db.reboot('ghost', ctx),
    () => db.delete({ id: 'ghost', skipFinalSnapshot: true, deleteAutomatedBackups: true }, ctx), () => db.modify({ id: 'ghost', applyImmediately: true }, ctx)]) {
    await assert.rejects(call(), { name: 'DBInstanceNotFound', message: 'DBInstance ghost not found.' });
  }
  await assert.rejects(db.listTags(`arn:aws:rds:us-east-1:${account}:db:ghost`), { name: 'DBInstanceNotFound', message: 'DBInstance ghost not found.' });
  await assert.rejects(db.listTags('arn:aws:rds:us-east-1:x:db:Bad_Id'), { name: 'DBInstanceNotFound' });

  // DescribeDBEngineVersions lists what is installed (the OS's PostgreSQL 15 on this machine kind)
  const versions = await db.engineVersions({ engine: 'postgres' });
  assert.ok(versions.length > 0);
  for (const v of versions) {
    assert.match(v.engineVersion, /^\d+\.\d+$/);
    assert.equal(v.dbParameterGroupFamily, `postgres${v.engineVersion.split('.')[0]}`);
    assert.ok(existsSync(`${v.binDir}/postgres`));
  }
  // and the OS's mariadbd (with mariadb-install-db), when installed
  const maria = await db.engineVersions({ engine: 'mariadb' });
  if (!existsSync('/usr/sbin/mariadbd') || !existsSync('/usr/bin/mariadb-install-db')) assert.deepEqual(maria, []);
  else {
    assert.equal(maria.length, 1);
    assert.match(maria[0]!.engineVersion, /^\d+\.\d+\.\d+$/);
    assert.equal(maria[0]!.dbParameterGroupFamily, `mariadb${maria[0]!.engineVersion.split('.').slice(0, 2).join('.')}`);
  }
});
