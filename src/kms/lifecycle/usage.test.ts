import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../../crypto/index.ts';
import { JobEngine } from '../../jobs/engine.ts';
import { b64, DAY, harness, rejects, T0, unb64 } from '../testing.ts';
import { USAGE_PREFIX, usagePath } from './paths.ts';
import { currentMaterialCount, lifecycleHarness } from './testing.ts';
import { UsageMeter } from './usage.ts';

test('a key whose budget of encryptions is used up gets a new AUTOMATIC version; its counter starts at zero; the schedule does not move', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 365 });
  const admin = h.kms.lifecycle.admin();
  const set = await admin.setUsageBudget(md.Arn, { maxEncryptions: 10 });
  assert.deepEqual(set, { keyId: md.KeyId, keyArn: md.Arn, budget: { maxEncryptions: 10 }, currentKeyMaterialId: md.CurrentKeyMaterialId, usage: { encryptions: 0, bytes: 0 } });
  const cts: unknown[] = [];
  for (let i = 0; i < 9; i++) cts.push((await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64(`p${i}`) }))['CiphertextBlob']);
  await h.kms.lifecycle.usage.flush();
  await h.tick();
  assert.equal((await h.record(md.KeyId)).materials.length, 1);
  cts.push((await h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' }))['CiphertextBlob']); // the 10th
  await h.kms.lifecycle.usage.flush();
  await h.tick();
  const rec = await h.record(md.KeyId);
  assert.deepEqual(rec.materials.map((m) => m.rotationType), [null, 'AUTOMATIC']);
  assert.equal(currentMaterialCount(rec), 1);
  assert.equal(rec.rotation.nextRotationDate, T0 + 365 * DAY); // unchanged
  const [job] = await h.jobs('kms.rotate');
  assert.equal(job!.dedupeKey, `kms.budget/${md.KeyId}/${md.CurrentKeyMaterialId}`);
  assert.deepEqual(h.events.map((e) => [e.type, e.trigger, e.materialId]), [['RotateKey', 'budget', rec.currentMaterialId]]);
  assert.deepEqual((await admin.usage(md.KeyId)).usage, { encryptions: 0, bytes: 0 });
  assert.deepEqual(await h.kms.lifecycle.usage.read(md.KeyId, md.CurrentKeyMaterialId), { encryptions: 10, bytes: 9 * 2 + 32 });
  // Everything encrypted under the old version still decrypts.
  for (const ct of cts) await h.call('Decrypt', { CiphertextBlob: ct });
  // The next version has its own budget.
  for (let i = 0; i < 10; i++) await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  await h.kms.lifecycle.usage.flush();
  await h.tick();
  assert.equal((await h.record(md.KeyId)).materials.length, 3);
  assert.deepEqual(h.errors, []);
});

test('a budget of bytes counts plaintext bytes; removing the budget stops counting', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.kms.lifecycle.admin().setUsageBudget(md.KeyId, { maxBytes: 4096 });
  await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64(Buffer.alloc(4000)) });
  await h.kms.lifecycle.usage.flush();
  await h.tick();
  assert.equal((await h.record(md.KeyId)).materials.length, 1);
  await h.call('GenerateDataKeyWithoutPlaintext', { KeyId: md.KeyId, NumberOfBytes: 96 }); // 4096
  await h.kms.lifecycle.usage.flush();
  await h.tick();
  const rec = await h.record(md.KeyId);
  assert.equal(rec.materials.length, 2);
  await h.kms.lifecycle.admin().setUsageBudget(md.KeyId, {});
  assert.equal((await h.record(md.KeyId)).usageBudget, undefined);
  for (let i = 0; i < 3; i++) await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64(Buffer.alloc(4096)) });
  await h.kms.lifecycle.usage.flush();
  assert.deepEqual(await h.barrier.list(usagePath(md.KeyId, rec.currentMaterialId)), []);
});

test('budget validation', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  const admin = h.kms.lifecycle.admin();
  await rejects(admin.setUsageBudget(md.KeyId, { maxEncryptions: 0 }), 'ValidationException', 'maxEncryptions must be an integer from 1 to 9007199254740991');
  await rejects(admin.setUsageBudget(md.KeyId, { maxBytes: 1.5 }), 'ValidationException', 'maxBytes must be an integer from 1 to 9007199254740991');
  await rejects(admin.setUsageBudget('alias/none', { maxBytes: 10 }), 'NotFoundException', 'Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found.');
});

test('a budget lowered below what the version already did rotates it right away', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.kms.lifecycle.admin().setUsageBudget(md.KeyId, { maxEncryptions: 100 });
  for (let i = 0; i < 5; i++) await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  await h.kms.lifecycle.admin().setUsageBudget(md.KeyId, { maxEncryptions: 5 });
  await h.tick();
  assert.equal((await h.record(md.KeyId)).materials.length, 2);
});

test('two nodes count into one counter: 6 + 6 encryptions against a budget of 10 rotate the key once', async () => {
  const root = randomBytes(32);
  const a = await harness({ root });
  const b = await harness({ root, backend: a.backend });
  const md = await a.createKey();
  await a.kms.lifecycle.admin().setUsageBudget(md.KeyId, { maxEncryptions: 10 });
  b.kms.store.invalidateKey(md.KeyId);
  const engine = new JobEngine({ barrier: a.barrier, nodeId: 'worker', clock: { now: () => new Date(a.now()) } });
  a.kms.lifecycle.register(engine);
  await Promise.all([
    ...Array.from({ length: 6 }, () => a.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('a') })),
    ...Array.from({ length: 6 }, () => b.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('b') })),
  ]);
  await a.kms.lifecycle.usage.flush();
  await engine.tick();
  assert.equal((await a.kms.store.readKey(md.KeyId))!.value.materials.length, 1); // 6 of 10 so far
  await b.kms.lifecycle.usage.flush(); // node b's flush finds 12 >= 10 and creates the job (node b runs no worker)
  await engine.tick();
  assert.deepEqual(await a.kms.lifecycle.usage.read(md.KeyId, md.CurrentKeyMaterialId), { encryptions: 12, bytes: 12 });
  assert.equal((await a.kms.store.readKey(md.KeyId))!.value.materials.length, 2);
  await a.kms.lifecycle.usage.flush();
  await b.kms.lifecycle.usage.flush();
  await engine.tick();
  assert.equal((await a.kms.store.readKey(md.KeyId))!.value.materials.length, 2);
  assert.equal((await engine.list({ kind: 'kms.rotate' })).jobs.length, 1);
});

test('keys without a budget cost no storage write; a tally flushes after flushEvery uses without waiting for the timer', async () => {
  const h = await harness();
  const plain = await h.createKey();
  for (let i = 0; i < 50; i++) await h.call('Encrypt', { KeyId: plain.KeyId, Plaintext: b64('x') });
  await h.kms.lifecycle.usage.flush();
  assert.deepEqual(await h.barrier.list(USAGE_PREFIX), []);

  const meter = new UsageMeter(h.barrier, { flushMs: 3_600_000, flushEvery: 3, onExhausted: async () => {} });
  const rec = { keyId: plain.KeyId, currentMaterialId: plain.CurrentKeyMaterialId, usageBudget: { maxEncryptions: 1000 } };
  meter.record(rec, 1);
  meter.record(rec, 1);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await meter.read(plain.KeyId, plain.CurrentKeyMaterialId), { encryptions: 0, bytes: 0 });
  meter.record(rec, 1);
  await meter.flush(); // waits for the flush the third record started
  assert.deepEqual(await meter.read(plain.KeyId, plain.CurrentKeyMaterialId), { encryptions: 3, bytes: 3 });
  await meter.close();
});

test('a failed flush keeps its counts for the next one', async () => {
  const h = await harness();
  const md = await h.createKey();
  const errors: string[] = [];
  const meter = new UsageMeter(h.barrier, { flushMs: 3_600_000, onExhausted: async () => {}, onError: (_e, where) => errors.push(where) });
  const rec = { keyId: md.KeyId, currentMaterialId: md.CurrentKeyMaterialId, usageBudget: { maxBytes: 1 << 20 } };
  meter.record(rec, 100);
  const put = h.barrier.putJSON.bind(h.barrier);
  h.barrier.putJSON = (async () => { throw new Error('storage down'); }) as typeof h.barrier.putJSON;
  await meter.flush();
  assert.deepEqual(errors, [`usage counter ${md.KeyId}/${md.CurrentKeyMaterialId}`]);
  h.barrier.putJSON = put;
  meter.record(rec, 5);
  await meter.flush();
  assert.deepEqual(await meter.read(md.KeyId, md.CurrentKeyMaterialId), { encryptions: 2, bytes: 105 });
  await meter.close();
});

test('ReEncrypt counts toward the destination key', async () => {
  const h = await lifecycleHarness();
  const src = await h.createKey();
  const dst = await h.createKey();
  await h.kms.lifecycle.admin().setUsageBudget(dst.KeyId, { maxEncryptions: 1 });
  const ct = (await h.call('Encrypt', { KeyId: src.KeyId, Plaintext: b64('move me') }))['CiphertextBlob'];
  const re = await h.call('ReEncrypt', { CiphertextBlob: ct, DestinationKeyId: dst.KeyId });
  await h.kms.lifecycle.usage.flush();
  await h.tick();
  assert.equal((await h.record(dst.KeyId)).materials.length, 2);
  assert.equal(unb64((await h.call('Decrypt', { CiphertextBlob: re['CiphertextBlob'] }))['Plaintext']).toString(), 'move me');
});

test('a rotation request that fails is reported and made again by the next flush; the counts stay exact', async () => {
  const h = await harness();
  const md = await h.createKey();
  const errors: string[] = [];
  let fail = true;
  const asked: string[] = [];
  const meter = new UsageMeter(h.barrier, {
    flushMs: 3_600_000,
    onExhausted: async (keyId) => { if (fail) { fail = false; throw new Error('jobs down'); } asked.push(keyId); },
    onError: (_e, where) => errors.push(where),
  });
  const rec = { keyId: md.KeyId, currentMaterialId: md.CurrentKeyMaterialId, usageBudget: { maxEncryptions: 2 } };
  meter.record(rec, 1);
  meter.record(rec, 1);
  await meter.flush();
  assert.deepEqual(errors, [`budget rotation ${md.KeyId}/${md.CurrentKeyMaterialId}`]);
  meter.record(rec, 1);
  await meter.flush();
  assert.deepEqual(asked, [md.KeyId]);
  assert.deepEqual(await meter.read(md.KeyId, md.CurrentKeyMaterialId), { encryptions: 3, bytes: 3 });
  await meter.close();
});
