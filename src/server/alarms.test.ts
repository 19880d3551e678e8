import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../metrics/registry.ts';
import { registryReader } from './alarms.ts';

test('registryReader: counters by name, histograms through _count/_sum/_bucket, unknown names null', async () => {
  const m = new Metrics({ processMetrics: false });
  m.observe('kms', 'Encrypt', 'success', 0.002);
  m.observe('kms', 'Encrypt', 'AccessDeniedException', 0.001);
  const r = registryReader(m);
  assert.deepEqual(await r.read('rekey_requests_total'), [
    { labels: { api: 'kms', operation: 'Encrypt', outcome: 'success' }, value: 1 },
    { labels: { api: 'kms', operation: 'Encrypt', outcome: 'AccessDeniedException' }, value: 1 },
  ]);
  assert.deepEqual(await r.read('rekey_request_duration_seconds_count'), [{ labels: { api: 'kms', operation: 'Encrypt' }, value: 2 }]);
  const buckets = await r.read('rekey_request_duration_seconds_bucket');
  assert.equal(buckets!.find((b) => b.labels['le'] === 0.001)!.value, 1);
  assert.deepEqual(await r.read('rekey_request_duration_seconds'), [], 'a histogram by its base name has no single value');
  assert.equal(await r.read('no_such_metric'), null);
  assert.equal(await r.read('no_such_metric_count'), null);
});
