import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobEngine } from '../../jobs/engine.ts';
import { keyPath } from '../keystore.ts';
import { KeyState, type KeyRecord } from '../model.ts';
import { DAY, T0 } from '../testing.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, rotationDuePath } from './paths.ts';
import { nextRotationAfter, rotationDecision, type RotateJobData } from './rotate.ts';
import { currentMaterialCount, lifecycleHarness } from './testing.ts';

const iso = (ms: number) => new Date(ms).toISOString();

test('the due indexes follow every change of the key record, in the same write', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  const rot = () => h.barrier.list(ROTATION_DUE_PREFIX);
  const del = () => h.barrier.list(DELETION_DUE_PREFIX);
  assert.deepEqual(await rot(), []);
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  const entry = `${ROTATION_DUE_PREFIX}${iso(T0 + 90 * DAY)}/${md.KeyId}`;
  assert.deepEqual(await rot(), [entry]);
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 100 }); // a new period moves it
  assert.deepEqual(await rot(), [`${ROTATION_DUE_PREFIX}${iso(T0 + 100 * DAY)}/${md.KeyId}`]);
  await h.call('DisableKey', { KeyId: md.KeyId }); // AWS KMS does not rotate disabled keys
  assert.deepEqual(await rot(), []);
  await h.call('EnableKey', { KeyId: md.KeyId });
  assert.deepEqual(await rot(), [`${ROTATION_DUE_PREFIX}${iso(T0 + 100 * DAY)}/${md.KeyId}`]);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
  assert.deepEqual(await rot(), []);
  assert.deepEqual(await del(), [`${DELETION_DUE_PREFIX}${iso(T0 + 7 * DAY)}/${md.KeyId}`]);
  await h.call('CancelKeyDeletion', { KeyId: md.KeyId }); // -> Disabled
  assert.deepEqual([await rot(), await del()], [[], []]);
  await h.call('EnableKey', { KeyId: md.KeyId });
  await h.call('DisableKeyRotation', { KeyId: md.KeyId });
  assert.deepEqual(await rot(), []);
  assert.equal(entry.length < 512, true);
});

test('a key rotates on its NextRotationDate: not a moment early, once, and the next date counts from the scheduled one', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  const due = T0 + 90 * DAY;
  await h.at(90 * DAY - 1); // one millisecond before
  assert.equal((await h.record(md.KeyId)).materials.length, 1);
  assert.deepEqual(await h.jobs('kms.rotate'), []);
  await h.at(1 + 3 * 3_600_000); // the engine comes round three hours after the date
  const rec = await h.record(md.KeyId);
  assert.equal(rec.materials.length, 2);
  const m = rec.materials[1]!;
  assert.equal(m.rotationType, 'AUTOMATIC');
  assert.equal(m.createdAt, due + 3 * 3_600_000);
  assert.equal(rec.currentMaterialId, m.id);
  assert.equal(currentMaterialCount(rec), 1);
  // From the scheduled date, not from the moment it ran.
  assert.equal(rec.rotation.nextRotationDate, due + 90 * DAY);
  assert.deepEqual(await h.barrier.list(ROTATION_DUE_PREFIX), [rotationDuePath(due + 90 * DAY, md.KeyId)]);
  const rotations = await h.call('ListKeyRotations', { KeyId: md.KeyId });
  assert.deepEqual(rotations['Rotations'], [{ KeyId: md.KeyId, KeyMaterialId: m.id, KeyMaterialState: 'CURRENT', RotationDate: m.createdAt / 1000, RotationType: 'AUTOMATIC' }]);
  assert.deepEqual(await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }), { KeyRotationEnabled: true, KeyId: md.Arn, RotationPeriodInDays: 90, NextRotationDate: (due + 90 * DAY) / 1000 });
  // Ticking again (and again) does nothing more.
  await h.tick();
  await h.at(DAY);
  assert.equal((await h.record(md.KeyId)).materials.length, 2);
  const jobs = await h.jobs('kms.rotate');
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.state, 'succeeded');
  assert.equal(jobs[0]!.dedupeKey, `kms.rotate/${md.KeyId}/${iso(due)}`);
  assert.deepEqual(jobs[0]!.data, { keyId: md.KeyId, trigger: 'schedule', due: iso(due), outcome: 'rotated', newMaterialId: m.id, keyArn: md.Arn, at: m.createdAt });
  assert.deepEqual(h.events, [{ type: 'RotateKey', keyArn: md.Arn, keyId: md.KeyId, materialId: m.id, trigger: 'schedule', at: new Date(m.createdAt) }]);
  assert.deepEqual(h.errors, []);
  // Encrypt after the rotation (this node's cache was dropped by the job event) uses the new material.
  const enc = await h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' });
  assert.equal(enc['KeyMaterialId'], m.id);
});

test('on-demand rotation does not move the automatic schedule', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  await h.at(10 * DAY);
  await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
  await h.at(79 * DAY);
  assert.deepEqual((await h.record(md.KeyId)).materials.map((m) => m.rotationType), [null, 'ON_DEMAND']);
  await h.at(DAY);
  const rec = await h.record(md.KeyId);
  assert.deepEqual(rec.materials.map((m) => m.rotationType), [null, 'ON_DEMAND', 'AUTOMATIC']);
  assert.equal(rec.materials[2]!.createdAt, T0 + 90 * DAY);
  assert.equal(rec.rotation.nextRotationDate, T0 + 180 * DAY);
});

test('a disabled key is not rotated; re-enabled after its date it rotates at once and keeps its calendar', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  await h.at(80 * DAY);
  await h.call('DisableKey', { KeyId: md.KeyId });
  await h.at(20 * DAY); // day 100: past the date, but disabled
  assert.equal((await h.record(md.KeyId)).materials.length, 1);
  await h.call('EnableKey', { KeyId: md.KeyId });
  await h.tick();
  const rec = await h.record(md.KeyId);
  assert.equal(rec.materials.length, 2);
  assert.equal(rec.materials[1]!.createdAt, T0 + 100 * DAY);
  assert.equal(rec.rotation.nextRotationDate, T0 + 180 * DAY); // due + 1 period, still after now
});

test('a job created before the key was disabled waits, and rotates when the key is enabled again', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  h.advance(90 * DAY);
  await h.engine.scheduler.scanOnce(new Date(h.now())); // the job exists ...
  await h.call('DisableKey', { KeyId: md.KeyId }); // ... then the key is disabled
  await h.engine.worker.runDueOnce(new Date(h.now()));
  const [job] = await h.jobs('kms.rotate');
  assert.equal(job!.state, 'queued');
  assert.equal(job!.runAt, h.now() + 3_600_000);
  assert.equal((job!.data as RotateJobData).reason, 'the key is Disabled');
  await h.at(3 * DAY);
  assert.equal((await h.record(md.KeyId)).materials.length, 1);
  await h.call('EnableKey', { KeyId: md.KeyId });
  await h.at(3_600_000);
  const rec = await h.record(md.KeyId);
  assert.equal(rec.materials.length, 2);
  assert.equal(rec.rotation.nextRotationDate, T0 + 180 * DAY);
  assert.equal((await h.jobs('kms.rotate')).length, 1);
});

test('DisableKeyRotation after the job was created makes it a no-op that also drops a stale index entry', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  h.advance(90 * DAY);
  await h.engine.scheduler.scanOnce(new Date(h.now()));
  await h.call('DisableKeyRotation', { KeyId: md.KeyId });
  // A stale entry (as a re-index racing with a rotation could leave) is removed by the no-op job.
  await h.barrier.putJSON(rotationDuePath(T0 + 90 * DAY, md.KeyId), {});
  await h.engine.worker.runDueOnce(new Date(h.now()));
  const [job] = await h.jobs('kms.rotate');
  assert.equal(job!.state, 'succeeded');
  assert.deepEqual(job!.data, { keyId: md.KeyId, trigger: 'schedule', due: iso(T0 + 90 * DAY), outcome: 'skipped', reason: 'the rotation schedule changed' });
  assert.equal((await h.record(md.KeyId)).materials.length, 1);
  assert.deepEqual(await h.barrier.list(ROTATION_DUE_PREFIX), []);
  assert.deepEqual(h.events, []);
});

test('a step computed from an older key record fails on the key CAS and runs again: one automatic version, one current', async () => {
  const h = await lifecycleHarness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 });
  h.advance(90 * DAY);
  // Right after the job reads the key, an on-demand rotation lands.
  const orig = h.barrier.getJSON.bind(h.barrier);
  let interfered = false;
  h.barrier.getJSON = (async (path: string) => {
    const r = await orig(path);
    if (path === keyPath(md.KeyId) && !interfered && new Error().stack?.includes('rotate.ts')) {
      interfered = true;
      await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
    }
    return r;
  }) as typeof h.barrier.getJSON;
  await h.tick();
  assert.equal(interfered, true);
  let [job] = await h.jobs('kms.rotate');
  assert.equal(job!.state, 'queued');
  assert.equal(job!.lastError?.name, 'CasConflict');
  assert.equal((await h.record(md.KeyId)).materials.length, 2); // only the on-demand one
  await h.at(60_000);
  [job] = await h.jobs('kms.rotate');
  assert.equal(job!.state, 'succeeded');
  const rec = await h.record(md.KeyId);
  assert.deepEqual(rec.materials.map((m) => m.rotationType), [null, 'ON_DEMAND', 'AUTOMATIC']);
  assert.equal(rec.currentMaterialId, rec.materials[2]!.id);
  assert.equal(currentMaterialCount(rec), 1);
});

test('two nodes ticking at once rotate each due key once', async () => {
  const h = await lifecycleHarness();
  const keys = [];
  for (let i = 0; i < 20; i++) {
    const md = await h.createKey();
    await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 90 + i });
    keys.push(md.KeyId);
  }
  const other = new JobEngine({ barrier: h.barrier, nodeId: 'node-2', clock: { now: () => new Date(h.now()) }, worker: { onEvent: (e) => h.kms.lifecycle.onJobEvent(e) } });
  h.kms.lifecycle.register(other);
  for (let d = 0; d < 130; d++) {
    h.advance(DAY);
    const now = new Date(h.now());
    await Promise.all([h.engine.tick(now), other.tick(now), h.engine.tick(now), other.tick(now)]);
  }
  for (const [i, keyId] of keys.entries()) {
    const rec = await h.record(keyId);
    assert.deepEqual(rec.materials.map((m) => m.rotationType), [null, 'AUTOMATIC'], keyId);
    assert.equal(rec.materials[1]!.createdAt, T0 + (90 + i) * DAY); // the tick that reaches the date
  }
  assert.equal((await h.jobs('kms.rotate')).length, 20);
});

test('rotationDecision: the rules alone', () => {
  const rec = { state: KeyState.Enabled, currentMaterialId: 'm1', rotation: { enabled: true, periodDays: 90, nextRotationDate: T0, onDemandCount: 0, onDemandStartDate: null } } as unknown as KeyRecord;
  const sched: RotateJobData = { keyId: 'k', trigger: 'schedule', due: iso(T0) };
  assert.deepEqual(rotationDecision(rec, sched, T0, 1000), { kind: 'rotate' });
  assert.deepEqual(rotationDecision(rec, sched, T0 - 1, 1000), { kind: 'wait', until: T0, reason: 'not due yet' });
  assert.deepEqual(rotationDecision(rec, { ...sched, due: iso(T0 - DAY) }, T0, 1000), { kind: 'skip', reason: 'the rotation schedule changed' });
  assert.deepEqual(rotationDecision({ ...rec, state: KeyState.PendingDeletion }, sched, T0, 1000), { kind: 'wait', until: T0 + 1000, reason: 'the key is PendingDeletion' });
  const budget: RotateJobData = { keyId: 'k', trigger: 'budget', materialId: 'm1' };
  assert.deepEqual(rotationDecision(rec, budget, T0, 1000), { kind: 'rotate' });
  assert.deepEqual(rotationDecision(rec, { ...budget, materialId: 'm0' }, T0, 1000), { kind: 'skip', reason: 'the material was already replaced' });
  // nextRotationAfter: the first due + k x period after now.
  assert.equal(nextRotationAfter(T0, 90, T0), T0 + 90 * DAY);
  assert.equal(nextRotationAfter(T0, 90, T0 + 90 * DAY - 1), T0 + 90 * DAY);
  assert.equal(nextRotationAfter(T0, 90, T0 + 90 * DAY), T0 + 180 * DAY);
  assert.equal(nextRotationAfter(T0, 90, T0 + 400 * DAY), T0 + 450 * DAY);
});
