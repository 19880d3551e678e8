import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arnOf, harness, rejects } from '../testing.ts';

test('ListKeys pages through every key in key id order', async () => {
  const h = await harness();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await h.createKey()).KeyId);
  ids.sort();
  const all = await h.call('ListKeys');
  assert.deepEqual(all, { Keys: ids.map((id) => ({ KeyId: id, KeyArn: arnOf(id) })), Truncated: false });

  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const r = await h.call('ListKeys', { Limit: 3, ...(marker ? { Marker: marker } : {}) });
    pages++;
    for (const k of r['Keys'] as { KeyId: string }[]) seen.push(k.KeyId);
    marker = r['NextMarker'] as string | undefined;
    assert.equal(r['Truncated'], marker !== undefined);
  } while (marker);
  assert.equal(pages, 3);
  assert.deepEqual(seen, ids);
});

test('ListKeys on an empty account', async () => {
  const h = await harness();
  assert.deepEqual(await h.call('ListKeys', {}), { Keys: [], Truncated: false });
});

test('ListKeys rejects bad limits and markers', async () => {
  const h = await harness();
  await rejects(h.call('ListKeys', { Limit: 0 }), 'ValidationException',
    "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
  await rejects(h.call('ListKeys', { Limit: 1001 }), 'ValidationException',
    "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000");
  await rejects(h.call('ListKeys', { Limit: '10' }), 'SerializationException', 'STRING_VALUE can not be converted to an Integer');
  await rejects(h.call('ListKeys', { Limit: 2.5 }), 'SerializationException', 'Non-integer NUMBER_VALUE can not be converted to an Integer');
  const msg = 'The pagination marker is not valid. Pass the NextMarker value from the previous response unchanged.';
  await rejects(h.call('ListKeys', { Marker: 'garbage!' }), 'InvalidMarkerException', msg);
  await rejects(h.call('ListKeys', { Marker: Buffer.from('ListAliases\nalias/x').toString('base64url') }), 'InvalidMarkerException', msg);
  await rejects(h.call('ListKeys', { Limit: 0, Marker: '' }), 'ValidationException',
    "2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '' at 'marker' failed to satisfy constraint: Member must have length greater than or equal to 1");
});
