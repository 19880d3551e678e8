// Drives the built-in database strategies through the real Secrets Manager API (the AWS SDK against a
// rekey server): RotateSecret with RotationLambdaARN function:rekey-<strategy>, then polling until
// the new version is AWSCURRENT, while test/helpers/db-load.ts clients read the secret with
// GetSecretValue(AWSCURRENT). Every value a rotation produced is collected (by VersionId, while it
// is still labelled) so a test can look for the passwords in a database server's log.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { DbSecret } from '../../src/secrets/strategy.ts';
import type { JobEngine } from '../../src/jobs/engine.ts';
import { startLoad, type LoadCounts, type LoadDriver } from './db-load.ts';

export const ROTATIONS = 50;

export const lambdaArn = (strategy: string, region = 'us-east-1', account = '111122223333'): string =>
  `arn:aws:lambda:${region}:${account}:function:rekey-${strategy}`;

export async function createDbSecret(sm: SecretsManagerClient, name: string, value: DbSecret): Promise<string> {
  const r = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }));
  return r.ARN!;
}

/** GetSecretValue: AWSCURRENT, or the given VersionId or staging label. */
export async function readSecret(sm: SecretsManagerClient, secretId: string, which: { versionId?: string; stage?: string } = {}): Promise<DbSecret> {
  const r = await sm.send(new GetSecretValueCommand({ SecretId: secretId, ...(which.versionId ? { VersionId: which.versionId } : { VersionStage: which.stage ?? 'AWSCURRENT' }) }));
  return JSON.parse(r.SecretString!) as DbSecret;
}

/** Polls `fn` every 10 ms until it returns something truthy. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000, onTimeout?: () => Promise<string>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${onTimeout ? `: ${await onTimeout()}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The last errors of this secret's rotation jobs, for a timeout message (names and messages carry no secret). */
export async function jobErrors(jobs: JobEngine, arn: string): Promise<string> {
  const { jobs: list } = await jobs.list({ kind: 'secrets.rotate', limit: 1000 });
  return list.filter((j) => j.target === arn && j.lastError).map((j) => `${j.state} ${j.step}: ${j.lastError!.name}: ${j.lastError!.message}`).join('; ') || 'no job error recorded';
}

/** One rotation through the API: RotateSecret, then wait until its version is AWSCURRENT. Returns that VersionId. */
export async function rotateViaApi(sm: SecretsManagerClient, jobs: JobEngine, arn: string, strategy: string): Promise<string> {
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn(strategy) }));
  const id = r.VersionId!;
  await until(`rotation ${id} of ${arn}`, async () => (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages?.[id]?.includes('AWSCURRENT'), 60_000, () => jobErrors(jobs, arn));
  return id;
}

export interface RotationRun {
  counts: LoadCounts;
  /** Every AWSCURRENT value the run produced, read by VersionId right after its rotation. */
  values: DbSecret[];
  /** Time inside the rotations (RotateSecret until the new AWSCURRENT shows), without the waits for the clients between them. */
  seconds: number;
}

/**
 * ROTATIONS rotations through the API under a two-client load that reads the secret with
 * GetSecretValue. Prints and asserts the counts: 0 failed transactions.
 */
export async function rotateUnderLoad<C>(t: TestContext, label: string, o: {
  sm: SecretsManagerClient; jobs: JobEngine; arn: string; strategy: string; driver: LoadDriver<C>;
}): Promise<RotationRun> {
  const load = startLoad({ ...o.driver, readSecret: () => readSecret(o.sm, o.arn), workers: 2 });
  const values: DbSecret[] = [];
  let seconds = 0;
  try {
    await load.waitForTransactions(2);
    for (let i = 0; i < ROTATIONS; i++) {
      const start = performance.now();
      const id = await rotateViaApi(o.sm, o.jobs, o.arn, o.strategy);
      seconds += (performance.now() - start) / 1000;
      values.push(await readSecret(o.sm, o.arn, { versionId: id }));
      await load.waitForTransactions(1); // every client opens a connection after each rotation
    }
  } finally {
    await load.stop();
  }
  const c = load.counts;
  const line = `${label} (through the API): ${ROTATIONS} rotations in ${seconds.toFixed(1)} s (${(ROTATIONS / seconds).toFixed(1)} rotations/s), ${c.transactions} transactions, ${c.authFailures} auth failures before re-read, ${c.reReads} re-reads, ${c.failed} failed`;
  t.diagnostic(line);
  console.log(line);
  assert.deepEqual(c.failures, []);
  assert.equal(c.failed, 0);
  assert.ok(c.transactions >= 2 * ROTATIONS);
  assert.equal(new Set(values.map((v) => v.password)).size, ROTATIONS, 'every rotation made a new password');
  return { counts: c, values, seconds };
}
