// Keys and ciphertexts survive a restart on both storage backends, and the stored bytes (the
// SQLite file with its WAL, the PostgreSQL table and the PostgreSQL data directory on disk)
// contain none of the key material, data keys or plaintexts the test created: raw, hex or base64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import * as K from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { startPostgres } from './helpers/pg.ts';
import type { KeyRecord } from '../src/kms/model.ts';

interface Workload {
  secrets: Buffer[];
  checks: { blob: Uint8Array; plaintext: Buffer; context?: Record<string, string> }[];
  keyIds: string[];
}

async function workload(s: TestServer): Promise<Workload> {
  const kms = s.kmsClient();
  const w: Workload = { secrets: [], checks: [], keyIds: [] };
  for (let i = 0; i < 3; i++) {
    const key = (await kms.send(new K.CreateKeyCommand({ Description: `persist-${i}` }))).KeyMetadata!;
    w.keyIds.push(key.KeyId!);
    const plaintext = Buffer.from(`persist-plaintext-${i}-${'Z'.repeat(24)}`);
    w.secrets.push(plaintext);
    const context = { i: String(i) };
    w.checks.push({ blob: (await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext, EncryptionContext: context }))).CiphertextBlob!, plaintext, context });
    const dk = await kms.send(new K.GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
    w.secrets.push(Buffer.from(dk.Plaintext!));
    w.checks.push({ blob: dk.CiphertextBlob!, plaintext: Buffer.from(dk.Plaintext!) });
    await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const after = Buffer.from(`after-rotation-${i}-${'Q'.repeat(24)}`);
    w.secrets.push(after);
    w.checks.push({ blob: (await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: after }))).CiphertextBlob!, plaintext: after });
    // the key material itself, read through the barrier (the only way to see it)
    const rec = (await s.barrier.getJSON<KeyRecord>(`kms/keys/${key.KeyId}`))!.value;
    assert.equal(rec.materials.length, 2);
    for (const m of rec.materials) w.secrets.push(Buffer.from(m.material, 'base64'));
  }
  return w;
}

async function verify(s: TestServer, w: Workload): Promise<void> {
  const kms = s.kmsClient();
  for (const c of w.checks) {
    const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: c.blob, ...(c.context ? { EncryptionContext: c.context } : {}) }));
    assert.deepEqual(Buffer.from(d.Plaintext!), c.plaintext);
  }
  const ids = (await kms.send(new K.ListKeysCommand({}))).Keys!.map((k) => k.KeyId);
  for (const id of w.keyIds) assert.ok(ids.includes(id));
}

function forms(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('hex').toUpperCase()), Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('base64url'))];
}

function assertAbsent(haystack: Buffer, w: Workload, where: string): void {
  assert.ok(haystack.length > 0, `${where}: nothing to scan`);
  for (const s of w.secrets) for (const f of forms(s)) assert.equal(haystack.indexOf(f), -1, `${where} contains a secret (${f.length} bytes form)`);
}

function readTree(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) { try { parts.push(readFileSync(p)); } catch { /* socket, lock */ } }
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

test('sqlite: survives restart; the database file holds no key material, data key or plaintext', async () => {
  let s = await startTestServer();
  const w = await workload(s);
  await verify(s, w);
  s = await s.restart();
  await verify(s, w);
  const dataDir = s.dataDir;
  await s.close();
  const files = ['rekey.db', 'rekey.db-wal', 'rekey.db-shm'].map((f) => join(dataDir, f)).filter(existsSync);
  const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
  assertAbsent(bytes, w, 'sqlite files');
  // and the scan is able to fail: the secret is findable when it is present
  assert.notEqual(Buffer.concat([bytes, w.secrets[0]!]).indexOf(w.secrets[0]!), -1);
  (await import('node:fs')).rmSync(dataDir, { recursive: true, force: true });
});

test('postgres: survives restart; the table and the data directory hold no key material, data key or plaintext', async () => {
  const pgs = await startPostgres();
  try {
    const env = { REKEY_STORAGE: 'postgres', REKEY_POSTGRES_URL: pgs.url };
    let s = await startTestServer({ env });
    const w = await workload(s);
    s = await s.restart();
    await verify(s, w);
    await s.cleanup();
    const c = new pg.Client({ connectionString: pgs.url });
    await c.connect();
    const rows = (await c.query<{ key: string; value: Buffer }>('SELECT key, value FROM rekey_kv')).rows;
    assert.ok(rows.some((r) => r.key.startsWith('kms/keys/')));
    assertAbsent(Buffer.concat(rows.flatMap((r) => [Buffer.from(r.key), r.value])), w, 'postgres table');
    await c.query('CHECKPOINT');
    await c.end();
    assertAbsent(readTree(pgs.dataDir), w, 'postgres data directory');
  } finally {
    await pgs.stop();
  }
});
