// finishSecret run again after a later rotation finished must not move AWSCURRENT back. finish()
// moves the labels and clears the secret's rotation job in one commit; the job's step is recorded
// after. If the step runs again (the strategy's finishSecret clean-up failed and is retried, or the
// node died before recording it and another took the job over), a newer rotation may have finished
// meanwhile: RotateSecret accepted it, since the secret no longer names the old job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateSecretCommand, DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { DbSecret, RotationStrategy } from '../src/secrets/strategy.ts';
import { readSecret, until } from './helpers/db-rotation-api.ts';
import { startTestServer } from './helpers/server.ts';

/** A strategy whose finishSecret clean-up fails the first time; `finishes` records AWSCURRENT's password at each call. */
function flakyFinish(): { strategy: RotationStrategy; finishes: string[] } {
  const finishes: string[] = [];
  let failFirstFinish = true;
  const strategy: RotationStrategy = {
    name: 'test-flaky-finish', needsMaster: false, invalidatesCurrent: true,
    createPending: (current: DbSecret, _p: DbSecret | undefined, password: string) => ({ ...current, password }),
    async setSecret() {},
    async testSecret() {},
    async finishSecret(ctx) {
      finishes.push(ctx.current.password);
      if (failFirstFinish) {
        failFirstFinish = false;
        throw new Error('clean-up failed (the job retries finishSecret)');
      }
    },
  };
  return { strategy, finishes };
}

const LAMBDA = 'arn:aws:lambda:us-east-1:111122223333:function:rekey-test-flaky-finish';

test('a retried finishSecret of an older rotation leaves a newer rotation\'s AWSCURRENT alone', { timeout: 60_000 }, async () => {
  const { strategy, finishes } = flakyFinish();
  const s = await startTestServer({ secretStrategies: [strategy] });
  try {
    const sm = s.secretsClient();
    const arn = LAMBDA;
    await sm.send(new CreateSecretCommand({ Name: 'finish/rerun', SecretString: JSON.stringify({ engine: 'postgres', host: 'h', username: 'u', password: 'p0' }) }));
    const stages = async () => (await sm.send(new DescribeSecretCommand({ SecretId: 'finish/rerun' }))).VersionIdsToStages ?? {};
    const r1 = await sm.send(new RotateSecretCommand({ SecretId: 'finish/rerun', RotationLambdaARN: arn }));
    await until('the first rotation\'s labels', async () => (await stages())[r1.VersionId!]?.includes('AWSCURRENT'));
    const job1 = await until('the failed finishSecret', async () => (await s.jobs.list({ kind: 'secrets.rotate' })).jobs.find((j) => (j.data as { versionId: string }).versionId === r1.VersionId && j.lastError?.step === 'finishSecret'));
    assert.equal(job1.lastError!.message, 'clean-up failed (the job retries finishSecret)');
    // The labels moved, so the secret names no rotation in flight: a new one starts and finishes.
    const r2 = await sm.send(new RotateSecretCommand({ SecretId: 'finish/rerun', RotationLambdaARN: arn }));
    await until('the second rotation', async () => (await stages())[r2.VersionId!]?.includes('AWSCURRENT'));
    const current = (await readSecret(sm, 'finish/rerun')).password;
    // The first job's retry (after its backoff) finishes without touching the labels.
    await until('the first job to succeed', async () => (await s.jobs.get(job1.id))?.state === 'succeeded', 30_000);
    assert.deepEqual(await stages(), { [r2.VersionId!]: ['AWSCURRENT'], [r1.VersionId!]: ['AWSPREVIOUS'] });
    assert.equal((await readSecret(sm, 'finish/rerun')).password, current);
    // The superseded rotation's clean-up is not run again against the newer AWSCURRENT.
    assert.deepEqual(finishes, [finishes[0], current]);
  } finally {
    await s.cleanup();
  }
});

test('a retried finishSecret with no newer rotation runs the clean-up again and keeps the labels', { timeout: 60_000 }, async () => {
  const { strategy, finishes } = flakyFinish();
  const s = await startTestServer({ secretStrategies: [strategy] });
  try {
    const sm = s.secretsClient();
    const c = await sm.send(new CreateSecretCommand({ Name: 'finish/retry', SecretString: JSON.stringify({ engine: 'postgres', host: 'h', username: 'u', password: 'p0' }) }));
    const r = await sm.send(new RotateSecretCommand({ SecretId: 'finish/retry', RotationLambdaARN: LAMBDA }));
    await until('the rotation job to succeed', async () => (await s.jobs.list({ kind: 'secrets.rotate' })).jobs.find((j) => j.state === 'succeeded'), 30_000);
    const current = (await readSecret(sm, 'finish/retry')).password;
    assert.notEqual(current, 'p0');
    assert.deepEqual(finishes, [current, current]);
    assert.deepEqual((await sm.send(new DescribeSecretCommand({ SecretId: 'finish/retry' }))).VersionIdsToStages, { [r.VersionId!]: ['AWSCURRENT'], [c.VersionId!]: ['AWSPREVIOUS'] });
  } finally {
    await s.cleanup();
  }
});
