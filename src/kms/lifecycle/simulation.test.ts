// Ten simulated years of automatic rotation for 1,000 keys with assorted periods, on two nodes
// (job engines) ticking once a simulated day with a manual clock: no sleeping. Along the way keys
// are used (ciphertexts kept), rotated on demand and given new periods. A model predicts every
// rotation; the test checks that each one happens on its date (the first tick at or after it,
// never before), exactly once, that each key always has exactly one current material version, and
// that every ciphertext made during the ten years still decrypts at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobEngine } from '../../jobs/engine.ts';
import { SqliteBackend } from '../../storage/sqlite.ts';
import { b64, DAY, unb64 } from '../testing.ts';
import type { KeyEvent } from './hooks.ts';
import { nextRotationAfter } from './rotate.ts';
import { currentMaterialCount, lifecycleHarness } from './testing.ts';

const KEYS = 1000;
const YEARS = 10;
const DAYS = Math.ceil(YEARS * 365.25);

/** mulberry32: a small seeded PRNG, so a failing run can be repeated exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Model {
  keyId: string;
  period: number;
  next: number;
  automatic: number[];
  onDemand: number;
}

test('1,000 keys, ten simulated years: every rotation on its date, once; one current version; every ciphertext decrypts', { timeout: 120_000 }, async () => {
  const seed = Number(process.env.REKEY_SIM_SEED ?? 20260115);
  const rand = prng(seed);
  const started = performance.now();
  const backend = new SqliteBackend(':memory:');
  const h = await lifecycleHarness({ onDemandRotationLimit: 10, backend });
  const second = new JobEngine({ barrier: h.barrier, nodeId: 'node-2', clock: { now: () => new Date(h.now()) }, worker: { onEvent: (e) => h.kms.lifecycle.onJobEvent(e) } });
  h.kms.lifecycle.register(second);

  const model: Model[] = [];
  const byId = new Map<string, Model>();
  for (let i = 0; i < KEYS; i++) {
    // 60% between 90 days and about a year, 40% up to the 2,560-day maximum.
    const period = rand() < 0.6 ? 90 + Math.floor(rand() * 311) : 401 + Math.floor(rand() * 2160);
    const md = await h.createKey();
    await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: period });
    const m: Model = { keyId: md.KeyId, period, next: h.now() + period * DAY, automatic: [], onDemand: 0 };
    model.push(m);
    byId.set(md.KeyId, m);
    h.advance(61_000); // creation times (and so due times) spread over the first day
  }

  const ciphertexts: { blob: unknown; plain: string }[] = [];
  const seen: KeyEvent[] = [];
  h.kms.lifecycle.addKeyEventListener((e) => seen.push(e));
  const start = h.now();
  let rotations = 0;
  for (let day = 1; day <= DAYS; day++) {
    h.advance(DAY);
    const now = h.now();
    const at = new Date(now);
    await Promise.all([h.engine.tick(at), second.tick(at)]);

    // Every rotation of this tick was predicted, and every predicted one happened.
    const expected = new Set(model.filter((m) => m.next <= now).map((m) => m.keyId));
    const events = seen.splice(0);
    assert.equal(events.length, expected.size, `day ${day}: ${events.length} rotations, expected ${expected.size}`);
    for (const e of events) {
      const m = byId.get(e.keyId)!;
      assert.ok(expected.delete(e.keyId), `day ${day}: ${e.keyId} rotated twice or early (due ${new Date(m.next).toISOString()})`);
      const t = e.at.getTime();
      // On its date: at the first tick at or after NextRotationDate, never before it.
      assert.ok(t >= m.next && t < m.next + DAY, `day ${day}: ${e.keyId} rotated at ${e.at.toISOString()}, due ${new Date(m.next).toISOString()}`);
      m.automatic.push(t);
      m.next = nextRotationAfter(m.next, m.period, t);
      rotations++;
    }

    // Use, rotate on demand, and re-period a few keys.
    if (day % 30 === 0) {
      for (let j = 0; j < 40; j++) {
        const m = model[Math.floor(rand() * KEYS)]!;
        const plain = `${m.keyId} day ${day} #${j}`;
        const r = await h.call('Encrypt', { KeyId: m.keyId, Plaintext: b64(plain), EncryptionContext: { day: String(day) } });
        ciphertexts.push({ blob: r['CiphertextBlob'], plain });
      }
    }
    if (rand() < 0.05) {
      const m = model[Math.floor(rand() * KEYS)]!;
      if (m.onDemand < 10) {
        await h.call('RotateKeyOnDemand', { KeyId: m.keyId });
        m.onDemand++;
      }
    }
    if (rand() < 0.02) {
      const m = model[Math.floor(rand() * KEYS)]!;
      m.period = 90 + Math.floor(rand() * 600);
      await h.call('EnableKeyRotation', { KeyId: m.keyId, RotationPeriodInDays: m.period });
      m.next = now + m.period * DAY;
    }

    if (day % 365 === 0) {
      for (const m of model) assert.equal(currentMaterialCount(await h.record(m.keyId)), 1, `day ${day}: ${m.keyId}`);
    }
  }

  // The end state agrees with the model, key by key.
  for (const m of model) {
    const rec = await h.record(m.keyId);
    assert.equal(currentMaterialCount(rec), 1, m.keyId);
    assert.deepEqual(rec.materials.filter((x) => x.rotationType === 'AUTOMATIC').map((x) => x.createdAt), m.automatic, m.keyId);
    assert.equal(rec.materials.filter((x) => x.rotationType === 'ON_DEMAND').length, m.onDemand, m.keyId);
    assert.equal(rec.rotation.nextRotationDate, m.next, m.keyId);
  }
  for (const c of ciphertexts) {
    const r = await h.call('Decrypt', { CiphertextBlob: c.blob, EncryptionContext: { day: c.plain.split(' day ')[1]!.split(' ')[0]! } });
    assert.equal(unb64(r['Plaintext']).toString(), c.plain);
  }
  const jobs = await h.jobs('kms.rotate');
  assert.equal(jobs.length, rotations);
  assert.ok(jobs.every((j) => j.state === 'succeeded'));
  assert.equal(new Set(jobs.map((j) => j.dedupeKey)).size, rotations);
  assert.deepEqual(h.errors, []);
  assert.ok(h.now() - start >= YEARS * 365 * DAY);
  await backend.close();
  process.stdout.write(`# seed ${seed}: ${rotations} automatic rotations, ${model.reduce((a, m) => a + m.onDemand, 0)} on demand, ${ciphertexts.length} ciphertexts checked, ${Math.round(performance.now() - started)} ms\n`);
});
