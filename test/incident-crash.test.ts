// SIGKILL inside every step of `rekey incident compromised-key` (issue 22: "Each step is idempotent
// and survives SIGKILL like every job"). One key protecting a secret (two versions) and a real
// PostgreSQL instance (its volume key); a chain of server processes on the same data directory, each
// started with REKEY_TEST_INCIDENT_CRASH_AT=<point> (src/compliance/incident/deps.ts incidentProbe),
// killing itself there after the step's work and before its result is committed; the next node takes the
// job over once the dead one's lease ran out. At the end: one job, succeeded; ONE new material
// (the rotation was not repeated by the re-runs); the secret and the instance's volume key re-wrapped
// to it; the secret reads and the instance reboots; the report lists the uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as R from '@aws-sdk/client-rds';
import { CreateKeyCommand, EncryptCommand, KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TEST_CREDS } from './helpers/server.ts';
import { startServerNode, type ServerNode } from './helpers/server-node.ts';
import { cleanUpKilledNodes, until } from './helpers/db-node.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import type { IncidentView } from '../src/compliance/incident/service.ts';

// (no point between a volume key's re-wrap and its write: a restarted node's key check re-wraps an
// instance behind its key's current material at start (db.rewrap, src/db/open.ts) before the incident
// job gets there; the incident then finds it done, which the report shows)
const POINTS = ['record', 'rotate', 'rewrap-item', 'rewrap', 'uses', 'report'] as const;

test('SIGKILL in every step of a compromised-key incident: the job resumes on the next node and finishes once', { timeout: 600_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-incident-crash-'));
  const env = {
    REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_LOG_LEVEL: 'silent', REKEY_AUDIT_FILE: 'none', REKEY_QUOTAS: 'off',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
  };
  const clients = (n: ServerNode) => ({
    kms: new KMSClient({ endpoint: n.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 }),
    sm: new SecretsManagerClient({ endpoint: n.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 }),
    rds: new R.RDSClient({ endpoint: n.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 }),
  });
  let node: ServerNode | undefined;
  try {
    node = await startServerNode({ ...env, REKEY_TEST_INCIDENT_CRASH_AT: POINTS[0] });
    let c = clients(node);
    const key = (await c.kms.send(new CreateKeyCommand({ Description: 'leaked' }))).KeyMetadata!;
    const secret = await c.sm.send(new CreateSecretCommand({ Name: 'crash/app', KmsKeyId: key.KeyId, SecretString: 'v1' }));
    await c.sm.send(new PutSecretValueCommand({ SecretId: secret.ARN!, SecretString: 'v2' }));
    await c.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }));
    await c.rds.send(new R.CreateDBInstanceCommand({
      DBInstanceIdentifier: 'crashdb', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
      MasterUserPassword: 'incident-crash-Pass1', StorageEncrypted: true, KmsKeyId: key.KeyId,
    }));
    const status = async (rds: R.RDSClient) => (await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'crashdb' }))).DBInstances![0]!.DBInstanceStatus;
    await until('instance available', async () => (await status(c.rds)) === 'available');
    // the job may reach its first kill point before the answer is sent: the answer is not needed
    await rekeyCli(['incident', 'compromised-key', key.KeyId!, '--endpoint', node.url]);
    let id = '';

    for (const [i, point] of [...POINTS, 'none'].entries()) {
      if (i > 0) {
        node = await startServerNode({ ...env, ...(point === 'none' ? {} : { REKEY_TEST_INCIDENT_CRASH_AT: point }) });
        // (before the clock moves: until the dead node's lease runs out, this one does not touch the job)
        if (!id) id = (JSON.parse((await rekeyCli(['jobs', 'ls', '--kind', 'incident.compromised-key', '--json', '--endpoint', node.url])).out) as { jobs: { id: string }[] }).jobs[0]!.id;
        // past the dead nodes' 30 s leases, and within SigV4's 5 minutes of skew for the CLI's requests
        await node.setOffset(i * 40_000);
      }
      if (point === 'none') break;
      const n = node;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((_, reject) => {
        timer = setTimeout(() => {
          void rekeyCli(['incident', 'show', id, '--endpoint', n.url]).then((v) => reject(new Error(`the node did not die at ${point}: ${v.out}${v.err}`)));
        }, 120_000);
      });
      await Promise.race([n.exited, late]).finally(() => clearTimeout(timer));
      t.diagnostic(`killed at ${point}`);
    }
    c = clients(node!);
    const view = async () => JSON.parse((await rekeyCli(['incident', 'show', id, '--endpoint', node!.url, '--output', 'json'])).out) as IncidentView;
    let last: unknown;
    const done = await until('the incident finished', async () => { const v = await view(); last = v; return v.state === 'succeeded' || v.state === 'failed' ? v : undefined; }, 120_000)
      .catch(async (e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(last)?.slice(0, 1500)} ${JSON.stringify(await rekeyCli(['incident', 'show', id, '--endpoint', node!.url]))}`); });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.lastError));
    const report = done.report!;
    // one rotation, however many times its step ran
    const rotations = (await c.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations ?? [];
    assert.equal(rotations.length, 1, JSON.stringify(rotations));
    assert.equal(report.key!.currentMaterial.id, rotations[0]!.KeyMaterialId);
    assert.equal(report.key!.compromisedMaterials.length, 1);
    assert.deepEqual(report.stillCompromised, []);
    assert.deepEqual(report.holdings.map((h) => [h.type, h.materialIds]).sort(), [
      ['db-instance', [rotations[0]!.KeyMaterialId]], ['secret-version', [rotations[0]!.KeyMaterialId]], ['secret-version', [rotations[0]!.KeyMaterialId]],
    ].sort());
    assert.deepEqual(report.actions.map((a) => a.step), ['record', 'rotate', 'rewrap', 'uses', 'disable', 'report']);
    assert.ok(report.uses.events.some((e) => e.eventName === 'Encrypt') && report.uses.events.some((e) => e.eventName === 'CreateDBInstance'));
    // and what was re-wrapped still opens: the secret reads, the instance reboots (unwraps its volume key)
    assert.equal((await c.sm.send(new GetSecretValueCommand({ SecretId: secret.ARN! }))).SecretString, 'v2');
    await c.rds.send(new R.RebootDBInstanceCommand({ DBInstanceIdentifier: 'crashdb' }));
    await until('available after reboot', async () => (await status(c.rds)) === 'available');
    const jobs = (JSON.parse((await rekeyCli(['jobs', 'ls', '--kind', 'incident.compromised-key', '--json', '--endpoint', node!.url])).out) as { jobs: { id: string; state: string }[] }).jobs;
    assert.deepEqual(jobs.map((j) => [j.id, j.state]), [[id, 'succeeded']], 'one job, resumed by every node');
  } finally {
    if (node && node.proc.exitCode === null && node.proc.signalCode === null) await node.stop();
    await cleanUpKilledNodes(dataDir); // servers the killed nodes left running, then the mounts
  }
});
