import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, MISSING_KEY_ID, T0, arnOf, harness, rejects } from '../testing.ts';

test('ListKeyRotations lists completed rotations oldest first; ALL_KEY_MATERIAL adds the first material', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.deepEqual(await h.call('ListKeyRotations', { KeyId: md.KeyId }), { Rotations: [], Truncated: false });
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) {
    h.advance(DAY);
    await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
    ids.push((await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { CurrentKeyMaterialId: string } }).KeyMetadata.CurrentKeyMaterialId);
  }
  const r = await h.call('ListKeyRotations', { KeyId: md.Arn });
  assert.deepEqual(r, {
    Rotations: ids.map((id, i) => ({
      KeyId: md.KeyId, KeyMaterialId: id, KeyMaterialState: i === 2 ? 'CURRENT' : 'NON_CURRENT', RotationDate: (T0 + (i + 1) * DAY) / 1000, RotationType: 'ON_DEMAND',
    })),
    Truncated: false,
  });
  const all = await h.call('ListKeyRotations', { KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
  assert.deepEqual((all['Rotations'] as unknown[])[0], { KeyId: md.KeyId, KeyMaterialId: md.CurrentKeyMaterialId, KeyMaterialState: 'NON_CURRENT' });
  assert.equal((all['Rotations'] as unknown[]).length, 4);
});

test('ListKeyRotations pagination', async () => {
  const h = await harness();
  const md = await h.createKey();
  for (let i = 0; i < 5; i++) await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const r = await h.call('ListKeyRotations', { KeyId: md.KeyId, Limit: 2, ...(marker ? { Marker: marker } : {}) });
    pages++;
    for (const e of r['Rotations'] as { KeyMaterialId: string }[]) seen.push(e.KeyMaterialId);
    marker = r['NextMarker'] as string | undefined;
    assert.equal(r['Truncated'], marker !== undefined);
  } while (marker);
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 5);
});

test('ListKeyRotations errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('ListKeyRotations', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('ListKeyRotations', { KeyId: md.KeyId, IncludeKeyMaterial: 'SOME' }), 'ValidationException',
    "1 validation error detected: Value 'SOME' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]");
  await rejects(h.call('ListKeyRotations', { KeyId: md.KeyId, Marker: 'Zm9v' }), 'InvalidMarkerException',
    'The pagination marker is not valid. Pass the NextMarker value from the previous response unchanged.');
});
