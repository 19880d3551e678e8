// Quotas across nodes: two `rekey server` processes sharing one PostgreSQL store each enforce
// rate / 2 (docs/TLS.md#quotas "Several nodes"), so the pair admits the configured quota, not twice it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KMSClient, CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { randomBytes } from '../src/crypto/index.ts';
import { startPostgres } from './helpers/pg.ts';
import { TEST_CREDS } from './helpers/server.ts';
import { startServerNode } from './helpers/server-node.ts';
import { Barrier } from '../src/storage/barrier.ts';
import { PostgresBackend } from '../src/storage/postgres.ts';
import { NODES_PREFIX } from '../src/quotas/cluster.ts';

const RATE = 10; // kms:cryptographic for the whole account

const startNode = startServerNode;

test('two nodes on one store admit the account quota once, not once per node', { timeout: 180_000 }, async (t) => {
  const pg = await startPostgres();
  t.after(() => pg.stop());
  const root = randomBytes(32);
  const env = {
    REKEY_STORAGE: 'postgres', REKEY_POSTGRES_URL: pg.url, REKEY_ROOT_KEY: root.toString('hex'), REKEY_LOG_LEVEL: 'silent', REKEY_INSECURE_HTTP: '1',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_AUDIT_FILE: 'none',
    REKEY_QUOTAS: 'on', REKEY_QUOTA_RATES: `kms:cryptographic=${RATE}`, REKEY_QUOTA_PRINCIPAL_SHARE: '1',
  };
  const a = await startNode({ ...env, REKEY_NODE_ID: 'quota-a' });
  t.after(() => a.stop());
  const b = await startNode({ ...env, REKEY_NODE_ID: 'quota-b' });
  t.after(() => b.stop());
  // both heartbeats seen by both (every 5 s): b saw a at its first beat (a started first); a has
  // seen b once a's heartbeat in the store is newer than b's first one. Polled, with a bound.
  const backend = await PostgresBackend.open(pg.url);
  t.after(() => backend.close());
  const barrier = await Barrier.unseal(backend, root);
  const seenAt = async (node: string) => (await barrier.getJSON<{ seenAt: number }>(NODES_PREFIX + node))?.value.seenAt ?? -1;
  const bFirst = await seenAt('quota-b');
  assert.ok(bFirst > 0, 'node b wrote no heartbeat at start');
  for (const deadline = Date.now() + 20_000; (await seenAt('quota-a')) <= bFirst;) {
    assert.ok(Date.now() < deadline, 'node a never beat after node b started');
    await new Promise((r) => setTimeout(r, 50));
  }
  const kms = (url: string) => new KMSClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 });
  const [ka, kb] = [kms(a.url), kms(b.url)];
  const keyId = (await ka.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  // no wait here: a bucket is made full at its first request, and a resize keeps it within the new capacity (src/quotas/bucket.ts)
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) =>
    (i % 2 ? ka : kb).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })).then(() => 'ok', (e: Error) => e.name)));
  const elapsed = (Date.now() - t0) / 1000;
  const ok = results.filter((r) => r === 'ok').length;
  assert.deepEqual([...new Set(results.filter((r) => r !== 'ok'))], ['ThrottlingException']);
  // stated tolerance: at most the quota's burst (RATE x 1 s) plus what refilled, plus one request per node for rounding
  assert.ok(ok <= RATE + Math.ceil(elapsed * RATE) + 2, `admitted ${ok} in ${elapsed.toFixed(2)} s across two nodes: more than the account quota of ${RATE}/s`);
  assert.ok(ok >= RATE, `admitted only ${ok}: each node should admit its share (${RATE / 2}) at once`);
});
