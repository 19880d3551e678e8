import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuotaService } from './service.ts';
import { defaultQuotaConfig, ruleOf, DEFAULT_RATES } from './config.ts';
import { NodeRegistry } from './cluster.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { randomBytes } from '../crypto/index.ts';

const alice = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/alice' };
const bob = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/bob' };
const other = { accountId: '444455556666', arn: 'arn:aws:iam::444455556666:user/carol' };

function count(q: QuotaService, svc: string, op: string, who: typeof alice, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    try { q.check(svc, op, who); ok++; } catch (e) {
      assert.equal((e as Error).name, 'ThrottlingException');
    }
  }
  return ok;
}

test('quotas: rules follow AWS: cryptographic operations share one quota, control plane per operation, Secrets Manager reads share one', () => {
  assert.equal(ruleOf('kms', 'Encrypt', {}), 'kms:cryptographic');
  assert.equal(ruleOf('kms', 'GenerateDataKeyWithoutPlaintext', {}), 'kms:cryptographic');
  assert.equal(ruleOf('kms', 'CreateKey', {}), 'kms:CreateKey');
  assert.equal(ruleOf('kms', 'SomethingNew', {}), 'kms:*');
  assert.equal(ruleOf('secretsmanager', 'DescribeSecret', {}), 'secretsmanager:read');
  assert.equal(ruleOf('secretsmanager', 'PutSecretValue', {}), 'secretsmanager:*');
  assert.equal(DEFAULT_RATES['kms:cryptographic'], 5500);
  assert.equal(DEFAULT_RATES['kms:CreateKey'], 5);
});

test('quotas: a burst above the rate is throttled for the excess only; tokens come back with time', () => {
  let now = 0;
  const q = new QuotaService({ ...defaultQuotaConfig(), principalShare: 1, rates: { 'kms:cryptographic': 100 } }, { clock: () => now });
  assert.equal(count(q, 'kms', 'Encrypt', alice, 150), 100);
  assert.throws(() => q.check('kms', 'Decrypt', alice), { name: 'ThrottlingException', message: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.' });
  now += 100; // 0.1 s -> 10 tokens
  assert.equal(count(q, 'kms', 'GenerateDataKey', bob, 50), 10);
  // control plane is separate, and another account has its own quota
  assert.equal(count(q, 'kms', 'CreateKey', alice, 10), 5);
  assert.equal(count(q, 'kms', 'Encrypt', other, 150), 100);
  assert.equal(count(new QuotaService({ ...defaultQuotaConfig(), principalShare: 1, rates: { 'secretsmanager:*': 1 } }, { clock: () => now }), 'secretsmanager', 'PutSecretValue', alice, 5), 1);
});

test('quotas: principalShare keeps one principal from starving the rest of its account; per-principal rates', () => {
  let now = 0;
  const q = new QuotaService({ ...defaultQuotaConfig(), principalShare: 0.5, rates: { 'kms:cryptographic': 100 }, principals: { [bob.arn]: { 'kms:cryptographic': 10 } } }, { clock: () => now });
  assert.equal(count(q, 'kms', 'Encrypt', alice, 200), 50); // alice: half of the account
  assert.equal(count(q, 'kms', 'Encrypt', bob, 200), 10); // bob: his own setting
  const carol = { ...alice, arn: 'arn:aws:iam::111122223333:user/carol' };
  assert.equal(count(q, 'kms', 'Encrypt', carol, 200), 40); // what is left of the account's 100
  now += 1000;
  assert.equal(count(q, 'kms', 'Encrypt', carol, 200), 50);
  const sm = new QuotaService(defaultQuotaConfig(), { clock: () => now });
  assert.throws(() => { for (let i = 0; i < 100; i++) sm.check('secretsmanager', 'CreateSecret', alice); }, { name: 'ThrottlingException', message: 'Rate exceeded' });
  const off = new QuotaService({ ...defaultQuotaConfig(), enabled: false, rates: { 'kms:cryptographic': 1 } }, { clock: () => now });
  assert.equal(count(off, 'kms', 'Encrypt', alice, 20), 20);
});

test('quotas: with N live nodes each node enforces rate / N; the registry counts heartbeats in the store', async () => {
  let now = 0;
  const q = new QuotaService({ ...defaultQuotaConfig(), principalShare: 1, rates: { 'kms:cryptographic': 100 } }, { clock: () => now });
  q.setNodeCount(2);
  assert.equal(count(q, 'kms', 'Encrypt', alice, 200), 50);
  q.setNodeCount(1);
  now += 1000;
  assert.equal(count(q, 'kms', 'Encrypt', alice, 200), 100);

  const backend = new MemoryBackend();
  const root = randomBytes(32);
  await initializeSeal(backend, root, 'test');
  const barrier = await Barrier.unseal(backend, root);
  let t = 1_000_000;
  const seen: number[] = [];
  const a = new NodeRegistry({ barrier, node: 'a', intervalMs: 1000, clock: () => t, onCount: (n) => seen.push(n) });
  const b = new NodeRegistry({ barrier, node: 'b', intervalMs: 1000, clock: () => t, onCount: () => {} });
  assert.equal(await a.beat(), 1);
  await b.beat();
  assert.equal(await a.beat(), 2);
  t += 5000; // b stopped beating: gone after 3 intervals
  assert.equal(await a.beat(), 1);
  await b.stop();
  assert.deepEqual(seen, [1, 2, 1]);
});
