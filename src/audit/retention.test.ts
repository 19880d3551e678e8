import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDigests } from './digest.ts';
import { AuditLog } from './log.ts';
import { anchorPath, eventPath } from './paths.ts';
import { StoreSink } from './sinks/store.ts';
import { sampleEvent, testBarrier } from './testing.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

test('pruning cuts at a digest, keeps the rest verifiable, and catches deletion past the anchor', async () => {
  const { barrier } = await testBarrier();
  let now = T0;
  const store = new StoreSink(barrier);
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [store], digestPeriodMs: 0, clock: () => new Date(now) });
  // day 0..9: 3 events a day, a digest at the end of each day
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < 3; i++) await log.append(sampleEvent(d * 3 + i, new Date(T0 + d * DAY + i * 1000)));
    now = T0 + d * DAY + DAY / 2;
    await log.closePeriod();
  }
  await log.append(sampleEvent(99, new Date(T0 + 10 * DAY)));
  now = T0 + 10 * DAY + 1000;

  const r = await log.prune(5); // cutoff: day 5 + 1s; the last digest closed before it is day 4's (seq 13..15)
  assert.deepEqual(r.nodes, [{ node: 'n1', anchorSeq: 15, deletedBatches: 15, deletedDigests: 4 }]);
  assert.equal(await barrier.getJSON(eventPath('n1', 15)), null);
  assert.notEqual(await barrier.getJSON(eventPath('n1', 16)), null);
  assert.equal((await barrier.getJSON<{ toSeq: number }>(anchorPath('n1')))!.value.toSeq, 15);
  assert.deepEqual((await loadDigests(barrier, 'n1')).map((d) => d.toSeq), [15, 18, 21, 24, 27, 30]);
  assert.equal((await barrier.list('audit/index/')).length, 16, 'the index was pruned with the events');
  assert.equal((await log.lookup({ maxResults: 1000 })).events.length, 16);

  const v = await log.verify();
  assert.equal(v.ok, true, JSON.stringify(v.problems));
  assert.deepEqual(v.nodes[0], { node: 'n1', startedFrom: 'anchor', fromSeq: 16, toSeq: 31, events: 16, digests: 5 });

  // pruning again changes nothing; deleting the first event after the anchor is still caught
  assert.deepEqual((await log.prune(5)).nodes[0]?.deletedBatches ?? 0, 0);
  await barrier.delete(eventPath('n1', 16));
  const p = (await log.verify()).problems[0];
  assert.deepEqual([p?.kind, p?.seq], ['missing', 16]);
  await log.close();
});
