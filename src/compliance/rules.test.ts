import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBarrier } from '../audit/testing.ts';
import { gatherFacts } from './facts.ts';
import { evaluate } from './rules.ts';
import { DEFAULT_SETTINGS } from './settings.ts';
import { RULE_IDS } from './standards.ts';
import { ACCOUNT, NOW, REGION, VIOLATIONS, keyArn, seedState } from './testing.ts';

const window = { from: new Date(NOW.getTime() - 90 * 86_400_000), to: NOW };

async function findingsOf(variant: 'bad' | 'good') {
  const { barrier } = await testBarrier();
  const seeded = await seedState(barrier, variant);
  const facts = await gatherFacts({ barrier, region: REGION, accountId: ACCOUNT, ports: seeded.ports, ...window });
  return { findings: evaluate(facts, DEFAULT_SETTINGS, NOW), facts, seeded };
}

test('a state with one violation per rule: exactly those findings, each on its resource', async () => {
  const { findings } = await findingsOf('bad');
  const got = findings.map((f) => `${f.ruleId} ${f.resource}`).sort();
  const want = VIOLATIONS.map(([id, arn]) => `${id} ${arn}`).sort();
  assert.deepEqual(got, want);
  // every rule is exercised by the fixture
  assert.deepEqual([...new Set(VIOLATIONS.map(([id]) => id))].sort(), [...RULE_IDS].sort());
});

test('the compliant twin has no finding', async () => {
  const { findings } = await findingsOf('good');
  assert.deepEqual(findings, []);
});

test('findings carry their clauses and evidence (audit event ids, dates, policy statements)', async () => {
  const { findings, seeded, facts } = await findingsOf('bad');
  const by = (id: string) => findings.find((f) => f.ruleId === id)!;
  const off = by('kms-rotation-disabled');
  assert.ok(seeded.disableRotationEventId);
  assert.deepEqual(off.evidence['auditEventIds'], [seeded.disableRotationEventId]);
  assert.equal(off.evidence['lastRotation'], new Date(NOW.getTime() - 100 * 86_400_000).toISOString());
  assert.ok(off.clauses['pci-dss']!.some((c) => c.includes('3.7.4')));
  assert.ok(off.clauses['sp800-57']!.some((c) => c.includes('§5.3')));
  const sod = by('kms-policy-separation-of-duties');
  assert.equal(sod.evidence['principal'], `arn:aws:iam::${ACCOUNT}:user/alice`);
  assert.deepEqual(sod.evidence['adminStatements'], [{ index: 1, sid: 'AliceAdmin', actions: ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'] }]);
  assert.deepEqual(sod.evidence['useStatements'], [{ index: 2, sid: 'AliceUse', actions: ['kms:Decrypt'] }]);
  assert.deepEqual(by('kms-admin-without-mfa').evidence['statements'], [{ index: 1, sid: 'CarolAdmin', actions: ['kms:DisableKey'] }]);
  assert.deepEqual(by('kms-pending-deletion-with-dependents').evidence['dependents'], [{ type: 'secret', arn: VIOLATIONS[6]![1] }]);
  assert.equal(by('kms-usage-budget-exceeded').evidence['encryptions'], 12);
  assert.equal(by('secret-rotation-overdue').evidence['nextRotation'], new Date(NOW.getTime() - 3 * 86_400_000).toISOString());
  assert.equal(by('certificate-near-expiry').evidence['daysLeft'], 10);
  // the facts never hold key material
  assert.ok(facts.keys.every((k) => k.record.materials.every((m) => m.material === '')));
  // usage of the key was read from the audit trail
  assert.deepEqual(facts.keys.find((k) => k.record.arn === keyArn('aaaa0001'))!.events.map((e) => e.eventName).sort(), ['Decrypt', 'DisableKeyRotation', 'Encrypt']);
});

test('the cryptoperiod is a setting: a 730-day period passes under a 800-day cryptoperiod', async () => {
  const { facts } = await findingsOf('bad');
  const ids = evaluate(facts, { ...DEFAULT_SETTINGS, cryptoperiodDays: 800 }, NOW).map((f) => f.ruleId);
  assert.equal(ids.includes('kms-rotation-period-exceeds-cryptoperiod'), false);
  assert.equal(ids.includes('kms-rotation-disabled'), true);
});

test('evaluation changes nothing in the store', async () => {
  const { barrier, backend } = await testBarrier();
  const seeded = await seedState(barrier, 'bad');
  const snapshot = async () => {
    const out: string[] = [];
    for (const k of await backend.list('')) {
      const e = await backend.get(k);
      out.push(`${k}=${e?.version}:${e ? Buffer.from(e.value).toString('base64') : ''}`);
    }
    return out;
  };
  const before = await snapshot();
  const facts = await gatherFacts({ barrier, region: REGION, accountId: ACCOUNT, ports: seeded.ports, ...window });
  evaluate(facts, DEFAULT_SETTINGS, NOW);
  assert.deepEqual(await snapshot(), before);
});
