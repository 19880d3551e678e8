// Two real `rekey server` processes sharing one PostgreSQL store (test/helpers/server-child.ts),
// driven by the real SDK. Both run the job engine with the KMS kinds. Their clocks move 120 days
// ahead together: every due rotation and deletion runs exactly once, whichever node takes it. A
// state change made on one node (DisableKey) is seen by the other within one second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { randomBytes } from '../src/crypto/index.ts';
import { JobState, PREFIX, type Job } from '../src/jobs/model.ts';
import { Barrier } from '../src/storage/barrier.ts';
import { PostgresBackend } from '../src/storage/postgres.ts';
import { startPostgres } from './helpers/pg.ts';
import { TEST_CREDS } from './helpers/server.ts';
import { startServerNode, type ServerNode } from './helpers/server-node.ts';

const DAY = 86_400_000;
const OFFSET = 120 * DAY;

type Node = ServerNode;

const startNode = startServerNode;

/**
 * An SDK client whose clock runs `offset` ahead, like the node's. The SDK corrects its clock offset
 * from each response's Date header (real time here), so the offset is put back before every request.
 */
function client(n: Node, offset = 0): K.KMSClient {
  const c = new K.KMSClient({ endpoint: n.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1, systemClockOffset: offset });
  c.middlewareStack.add((next) => (args) => {
    c.config.systemClockOffset = offset;
    return next(args);
  }, { step: 'build', name: 'fixedClockOffset' });
  return c;
}

test('two server processes on one PostgreSQL: every due job runs once; DisableKey on one node reaches the other within a second', { timeout: 180_000 }, async () => {
  const pg = await startPostgres();
  const root = randomBytes(32);
  const env = {
    REKEY_STORAGE: 'postgres', REKEY_POSTGRES_URL: pg.url, REKEY_ROOT_KEY: root.toString('hex'), REKEY_LOG_LEVEL: 'silent', REKEY_INSECURE_HTTP: '1', REKEY_QUOTAS: 'off',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_AUDIT_FILE: 'none',
  };
  const nodes: Node[] = [];
  const backend = await PostgresBackend.open(pg.url);
  try {
    nodes.push(await startNode(env));
    nodes.push(await startNode(env));
    const [a, b] = [client(nodes[0]!), client(nodes[1]!)];

    // Keys made on either node: rotation due within 120 days, deletions due within 30.
    const rotating: string[] = [];
    const deleting: string[] = [];
    for (let i = 0; i < 24; i++) {
      const c = i % 2 === 0 ? a : b;
      const id = (await c.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      if (i < 16) {
        await c.send(new K.EnableKeyRotationCommand({ KeyId: id, RotationPeriodInDays: 90 + i }));
        rotating.push(id);
      } else {
        await c.send(new K.CreateAliasCommand({ AliasName: `alias/bye-${i}`, TargetKeyId: id }));
        await c.send(new K.ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 + i }));
        deleting.push(id);
      }
    }
    const service = (await a.send(new K.DescribeKeyCommand({ KeyId: 'alias/aws/secretsmanager' }))).KeyMetadata!.KeyId!;
    const ct = (await a.send(new K.EncryptCommand({ KeyId: rotating[0], Plaintext: Buffer.from('before') }))).CiphertextBlob!;

    // 120 days later on both nodes (the SDK signs with the same skew).
    await Promise.all(nodes.map((n) => n.setOffset(OFFSET)));
    const [a2, b2] = [client(nodes[0]!, OFFSET), client(nodes[1]!, OFFSET)];
    const barrier = await Barrier.unseal(backend, root);
    // the KMS jobs only (other kinds, such as the hourly compliance.evaluate, run on these nodes too)
    const kmsJobs = async (): Promise<Job[]> => {
      const out: Job[] = [];
      for (const key of await barrier.list(PREFIX.job)) {
        const j = (await barrier.getJSON<Job>(key))?.value;
        if (j && j.kind.startsWith('kms.')) out.push(j);
      }
      return out;
    };
    const succeeded = async () => (await kmsJobs()).filter((j) => j.state === JobState.succeeded).length;
    const deadline = Date.now() + 60_000;
    while ((await succeeded()) < rotating.length + deleting.length) {
      assert.ok(Date.now() < deadline, `only ${await succeeded()} jobs finished`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // two more scans (each node scans every 4-6 s): nothing more may run. Awaited on the schedule
    // cursors in the store, which every completed scan advances, instead of a fixed 6 s.
    const cursors = async () => Promise.all((await barrier.list(PREFIX.sched)).map(async (k) => (await barrier.getJSON(k))?.version ?? 0));
    const at = await cursors();
    assert.ok(at.length > 0, 'no schedule cursor in the store');
    for (const until = Date.now() + 30_000; !(await cursors()).every((v, i) => v >= at[i]! + 2);) {
      assert.ok(Date.now() < until, `the schedule cursors never advanced twice: ${JSON.stringify(at)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const jobs = await kmsJobs();
    assert.equal(jobs.length, rotating.length + deleting.length);
    assert.ok(jobs.every((j) => j.state === JobState.succeeded));
    assert.equal(new Set(jobs.map((j) => j.dedupeKey)).size, jobs.length);
    for (const id of rotating) {
      const r = (await b2.send(new K.ListKeyRotationsCommand({ KeyId: id }))).Rotations!;
      assert.deepEqual(r.map((x) => x.RotationType), ['AUTOMATIC'], id);
    }
    for (const id of deleting) {
      for (const c of [a2, b2]) {
        await assert.rejects(c.send(new K.DescribeKeyCommand({ KeyId: id })), (e: Error) => e.name === 'NotFoundException' && e.message === `Key 'arn:aws:kms:us-east-1:111122223333:key/${id}' does not exist`);
      }
    }
    assert.equal((await b2.send(new K.ListKeyRotationsCommand({ KeyId: service }))).Rotations!.length, 0); // yearly: not yet
    assert.equal(Buffer.from((await b2.send(new K.DecryptCommand({ CiphertextBlob: ct }))).Plaintext!).toString(), 'before');

    // DisableKey on node A; node B (whose cache holds the key) refuses it within a second.
    const lags: number[] = [];
    for (const id of rotating.slice(0, 3)) {
      await b2.send(new K.EncryptCommand({ KeyId: id, Plaintext: Buffer.from('warm') }));
      await a2.send(new K.DisableKeyCommand({ KeyId: id }));
      const t0 = performance.now();
      // The lag is measured to the moment the first refused request was sent (its own round trip is
      // not part of the propagation).
      for (;;) {
        const sent = performance.now();
        try {
          await b2.send(new K.EncryptCommand({ KeyId: id, Plaintext: Buffer.from('x') }));
        } catch (e) {
          assert.equal((e as Error).name, 'DisabledException');
          lags.push(Math.round(sent - t0));
          break;
        }
        assert.ok(performance.now() - t0 < 2000, 'node B still encrypts 2 s after DisableKey on node A');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    process.stdout.write(`# DisableKey on node A refused by node B after ${lags.join(', ')} ms; ${jobs.length} jobs, each once\n`);
    assert.ok(Math.max(...lags) <= 1000, `propagation took ${Math.max(...lags)} ms`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await backend.close();
    await pg.stop();
  }
});
