import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

async function collect(h: Awaited<ReturnType<typeof harness>>, input: Record<string, unknown>): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const r = await h.call('ListAliases', { ...input, ...(marker ? { Marker: marker } : {}) });
    pages++;
    for (const a of r['Aliases'] as { AliasName: string }[]) names.push(a.AliasName);
    marker = r['NextMarker'] as string | undefined;
    assert.equal(r['Truncated'], marker !== undefined);
  } while (marker);
  return { names, pages };
}

test('ListAliases pages through all aliases in name order, and through one key\'s aliases', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  const forA = ['alias/a1', 'alias/a2', 'alias/a3', 'alias/a4', 'alias/a5'];
  const forB = ['alias/b1', 'alias/b2'];
  for (const n of forA) await h.call('CreateAlias', { AliasName: n, TargetKeyId: a.KeyId });
  for (const n of forB) await h.call('CreateAlias', { AliasName: n, TargetKeyId: b.KeyId });
  assert.deepEqual(await collect(h, { Limit: 2 }), { names: [...forA, ...forB], pages: 4 });
  assert.deepEqual(await collect(h, {}), { names: [...forA, ...forB], pages: 1 });
  assert.deepEqual(await collect(h, { KeyId: a.KeyId, Limit: 2 }), { names: forA, pages: 3 });
  assert.deepEqual(await collect(h, { KeyId: b.Arn, Limit: 1 }), { names: forB, pages: 2 });
});

test('ListAliases defaults to 50 per page and caps Limit at 100', async () => {
  const h = await harness();
  const k = await h.createKey();
  for (let i = 0; i < 120; i++) await h.call('CreateAlias', { AliasName: `alias/n${String(i).padStart(3, '0')}`, TargetKeyId: k.KeyId });
  assert.equal(((await h.call('ListAliases'))['Aliases'] as unknown[]).length, 50);
  assert.equal(((await h.call('ListAliases', { Limit: 1000 }))['Aliases'] as unknown[]).length, 100);
});

test('ListAliases errors', async () => {
  const h = await harness();
  const k = await h.createKey();
  await rejects(h.call('ListAliases', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('ListAliases', { KeyId: 'alias/x' }), 'NotFoundException', "Invalid keyId 'alias/x'");
  const first = await h.call('ListKeys', { Limit: 1 });
  assert.equal(first['Truncated'], false);
  await h.createKey();
  const page = await h.call('ListKeys', { Limit: 1 });
  // A marker from another listing is refused.
  await rejects(h.call('ListAliases', { Marker: page['NextMarker'] }), 'InvalidMarkerException',
    'The pagination marker is not valid. Pass the NextMarker value from the previous response unchanged.');
  await rejects(h.call('ListAliases', { KeyId: k.KeyId, Limit: 0 }), 'ValidationException',
    "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
});
