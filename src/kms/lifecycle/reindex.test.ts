import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPath } from '../keystore.ts';
import { DAY, T0 } from '../testing.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, deletionDuePath, rotationDuePath } from './paths.ts';
import { lifecycleHarness } from './testing.ts';

test('reindex backfills the due indexes of keys written without them, once', async () => {
  const h = await lifecycleHarness();
  const a = await h.createKey();
  const b = await h.createKey();
  await h.createKey(); // no rotation, not pending deletion: no entry
  // Records as an older rekey wrote them: lifecycle fields set, no index entries.
  const ra = await h.record(a.KeyId);
  ra.rotation = { ...ra.rotation, enabled: true, periodDays: 90, nextRotationDate: T0 + 90 * DAY };
  await h.barrier.putJSON(keyPath(a.KeyId), ra);
  const rb = await h.record(b.KeyId);
  Object.assign(rb, { state: 'PendingDeletion', deletionDate: T0 + 7 * DAY, pendingWindowInDays: 7 });
  await h.barrier.putJSON(keyPath(b.KeyId), rb);
  assert.deepEqual(await h.kms.lifecycle.reindex(), { scanned: 3, written: 2, skipped: false });
  assert.deepEqual(await h.barrier.list(ROTATION_DUE_PREFIX), [rotationDuePath(T0 + 90 * DAY, a.KeyId)]);
  assert.deepEqual(await h.barrier.list(DELETION_DUE_PREFIX), [deletionDuePath(T0 + 7 * DAY, b.KeyId)]);
  assert.deepEqual(await h.kms.lifecycle.reindex(), { scanned: 0, written: 0, skipped: true });
  // And the engine acts on them.
  await h.at(90 * DAY);
  assert.equal((await h.record(a.KeyId)).materials.length, 2);
  assert.equal(await h.kms.store.readKey(b.KeyId), null);
});
