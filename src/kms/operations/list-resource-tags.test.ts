import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('ListResourceTags pages through tags in key order; works while pending deletion', async () => {
  const h = await harness();
  const tags = Array.from({ length: 12 }, (_, i) => ({ TagKey: `t${String(i).padStart(2, '0')}`, TagValue: String(i) }));
  const md = await h.createKey({ Tags: [...tags].reverse() });
  const seen: unknown[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const r = await h.call('ListResourceTags', { KeyId: md.KeyId, Limit: 5, ...(marker ? { Marker: marker } : {}) });
    pages++;
    seen.push(...(r['Tags'] as unknown[]));
    marker = r['NextMarker'] as string | undefined;
  } while (marker);
  assert.equal(pages, 3);
  assert.deepEqual(seen, tags);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  assert.deepEqual(await h.call('ListResourceTags', { KeyId: md.Arn, Limit: 100 }), { Tags: tags, Truncated: false });
});

test('ListResourceTags errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('ListResourceTags', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('ListResourceTags', { KeyId: md.KeyId, Marker: 'bad' }), 'InvalidMarkerException',
    'The pagination marker is not valid. Pass the NextMarker value from the previous response unchanged.');
});
