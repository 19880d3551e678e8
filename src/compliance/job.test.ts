import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBarrier } from '../audit/testing.ts';
import { ManualClock } from '../jobs/clock.ts';
import { JobEngine } from '../jobs/engine.ts';
import { KIND_EVALUATE, LATEST_PATH, latestEvaluation } from './job.ts';
import { ComplianceService } from './service.ts';
import { ACCOUNT, NOW, REGION, VIOLATIONS, seedState } from './testing.ts';

test('compliance.evaluate: one job per period however often the source is scanned; its result is stored', async () => {
  const { barrier } = await testBarrier();
  const seeded = await seedState(barrier, 'bad');
  const clock = new ManualClock(NOW);
  const engine = new JobEngine({ barrier, clock, nodeId: 'n1' });
  const compliance = new ComplianceService({ barrier, region: REGION, accountId: ACCOUNT, ports: seeded.ports, clock: () => clock.now() });
  compliance.register(engine);

  const first = await engine.tick();
  assert.equal(first.scan.created, 1);
  assert.equal((await engine.tick()).scan.created, 0, 'the same period is offered again and dedupes');
  const latest = await latestEvaluation(barrier);
  assert.ok(latest);
  assert.equal(latest.period, NOW.toISOString());
  assert.deepEqual(latest.findings.map((f) => `${f.ruleId} ${f.resource}`).sort(), VIOLATIONS.map(([id, arn]) => `${id} ${arn}`).sort());

  clock.advance(59 * 60_000);
  assert.equal((await engine.tick()).scan.created, 0, 'still the same hour');
  clock.advance(60_000);
  assert.equal((await engine.tick()).scan.created, 1, 'the next hour');
  assert.equal((await latestEvaluation(barrier))?.period, new Date(NOW.getTime() + 3_600_000).toISOString());
  const jobs = await engine.list({ kind: KIND_EVALUATE });
  assert.deepEqual(jobs.jobs.map((j) => j.state), ['succeeded', 'succeeded']);
});

test('a late run of an older period does not replace a newer result', async () => {
  const { barrier } = await testBarrier();
  const seeded = await seedState(barrier, 'good');
  const clock = new ManualClock(NOW);
  const engine = new JobEngine({ barrier, clock, nodeId: 'n1' });
  new ComplianceService({ barrier, region: REGION, accountId: ACCOUNT, ports: seeded.ports, clock: () => clock.now() }).register(engine);
  const newer = { at: NOW.toISOString(), period: '2031-01-01T00:00:00.000Z', findings: [], byRule: {} };
  await barrier.putJSON(LATEST_PATH, newer);
  await engine.tick();
  assert.deepEqual(await latestEvaluation(barrier), newer);
});
