// Crash test with real processes on PostgreSQL: three worker nodes run the KMS rotation and
// deletion jobs (testdata/crash-worker.ts) while this process SIGKILLs them at random moments and
// starts replacements, and keeps encrypting under the keys being rotated. 200 jobs: 140 automatic
// rotations and 60 deletions. Afterwards: every job succeeded exactly once (one new AUTOMATIC
// version per rotated key, each deleted key gone with its aliases), no key has two current versions
// or none, every ciphertext of a key that still exists decrypts, and the indexes agree with the
// records - although steps were started more than once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../../crypto/index.ts';
import { IamService } from '../../iam/service.ts';
import { JobState, PREFIX, type Job } from '../../jobs/model.ts';
import { assertIndexesConsistent } from '../../jobs/testdata/fixtures.ts';
import { Barrier, initializeSeal } from '../../storage/barrier.ts';
import { PostgresBackend } from '../../storage/postgres.ts';
import { KmsService } from '../service.ts';
import { CALLER } from '../testing.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, rotationDuePath } from './paths.ts';
import { ACCOUNT, REGION } from './testdata/crash-worker.ts';
import { currentMaterialCount } from './testing.ts';
import { startPostgres } from '../../../test/helpers/pg.ts';

const CHILD = fileURLToPath(new URL('./testdata/crash-worker.ts', import.meta.url));
const DAY = 86_400_000;
const OFFSET = 130 * DAY; // the workers' clock: every key below is due there, once
const ROTATIONS = 140;
const DELETIONS = 60;
const NODES = 3;
const KILLS = 12;

interface Child {
  proc: ChildProcess;
  ready: boolean;
  exited: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

test('SIGKILLed nodes on PostgreSQL: 200 rotations and deletions each happen exactly once; no ciphertext lost; one current version per key', { timeout: 180_000}, async () => {
  const started = Date.now();
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-kms-crash-'));
  const backend = await PostgresBackend.open(pg.url);
  const live: Child[] = [];
  try {
    const root = randomBytes(32);
    await initializeSeal(backend, root, 'test');
    const barrier = await Barrier.unseal(backend, root);
    const iam = new IamService({ barrier, accountId: ACCOUNT, region: REGION });
    const kms = new KmsService({ barrier, region: REGION, accountId: ACCOUNT, iam, cacheTtlMs: 100 });
    const call = (op: string, input: unknown) => kms.call(op, input, CALLER);
    const create = async () => ((await call('CreateKey', {}))['KeyMetadata'] as { KeyId: string; Arn: string }).KeyId;

    // Keys: 140 with rotation due once in the workers' time, 60 pending deletion (with aliases),
    // and 20 whose deletion was cancelled (no job may touch them).
    const rotating: string[] = [];
    const deleting: string[] = [];
    const cancelled: string[] = [];
    await Promise.all(Array.from({ length: ROTATIONS }, async (_, i) => {
      const id = await create();
      await call('EnableKeyRotation', { KeyId: id, RotationPeriodInDays: 90 + (i % 31) });
      rotating.push(id);
    }));
    await Promise.all(Array.from({ length: DELETIONS }, async (_, i) => {
      const id = await create();
      await call('CreateAlias', { AliasName: `alias/doomed-${i}`, TargetKeyId: id });
      await call('ScheduleKeyDeletion', { KeyId: id, PendingWindowInDays: 7 + (i % 24) });
      deleting.push(id);
    }));
    await Promise.all(Array.from({ length: 20 }, async () => {
      const id = await create();
      await call('ScheduleKeyDeletion', { KeyId: id, PendingWindowInDays: 7 });
      await call('CancelKeyDeletion', { KeyId: id });
      cancelled.push(id);
    }));
    const before = new Map<string, number>();
    for (const id of rotating) before.set(id, (await kms.store.readKey(id))!.value.rotation.nextRotationDate!);

    // Ciphertexts made before and during the faults.
    const cts: { keyId: string; blob: unknown; plain: string }[] = [];
    const encryptSome = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const keyId = rotating[rand(0, rotating.length)]!;
        const plain = `${keyId} ${cts.length}`;
        const r = await call('Encrypt', { KeyId: keyId, Plaintext: Buffer.from(plain).toString('base64') });
        cts.push({ keyId, blob: r['CiphertextBlob'], plain });
      }
    };
    await encryptSome(100);

    const startLog = join(dir, 'starts.log');
    writeFileSync(startLog, '');
    let seq = 0;
    const launch = () => {
      const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, pg.url, `node-${++seq}`, startLog], {
        env: { ...process.env, REKEY_TEST_ROOT: root.toString('hex'), REKEY_TEST_CLOCK_OFFSET_MS: String(OFFSET) }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      const child: Child = { proc, ready: false, exited: new Promise<void>((r) => proc.once('exit', () => r())) };
      proc.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) child.ready = true; });
      proc.once('exit', (code, signal) => {
        if (signal === null && code !== 0) process.stderr.write(`crash worker exited ${code}: ${stderr}\n`);
      });
      live.push(child);
    };
    const finished = async () => (await barrier.list(`${PREFIX.state}${JobState.succeeded}/`)).length;

    // Fault phase: keep NODES workers alive; every 100-400 ms SIGKILL a random one that is running.
    let kills = 0;
    while (kills < KILLS && (await finished()) < ROTATIONS + DELETIONS) {
      while (live.length < NODES) launch();
      await Promise.all([sleep(rand(100, 400)), encryptSome(5)]);
      const ready = live.filter((c) => c.ready);
      if (ready.length === 0) continue;
      const victim = ready[rand(0, ready.length)]!;
      live.splice(live.indexOf(victim), 1);
      victim.proc.kill('SIGKILL');
      await victim.exited;
      kills++;
    }
    // Recovery: fresh nodes run undisturbed until every job is done.
    while (live.length < NODES) launch();
    const deadline = Date.now() + 60_000;
    while ((await finished()) < ROTATIONS + DELETIONS) {
      assert.ok(Date.now() < deadline, `only ${await finished()} of ${ROTATIONS + DELETIONS} jobs finished`);
      await encryptSome(2);
      await sleep(50);
    }
    for (const c of live) c.proc.kill('SIGTERM');
    await Promise.all(live.map((c) => c.exited));
    live.length = 0;

    // Every job exactly once, each with its effect.
    const jobs: Job[] = await assertIndexesConsistent(barrier);
    assert.equal(jobs.length, ROTATIONS + DELETIONS);
    assert.ok(jobs.every((j) => j.state === JobState.succeeded), 'every job succeeded');
    const rotate = jobs.filter((j) => j.kind === 'kms.rotate');
    const del = jobs.filter((j) => j.kind === 'kms.delete');
    assert.deepEqual(rotate.map((j) => (j.data as { keyId: string }).keyId).sort(), [...rotating].sort());
    assert.deepEqual(del.map((j) => (j.data as { keyId: string }).keyId).sort(), [...deleting].sort());
    assert.ok(rotate.every((j) => (j.data as { outcome: string }).outcome === 'rotated'));
    assert.ok(del.every((j) => (j.data as { outcome: string }).outcome === 'deleted'));
    for (const id of rotating) {
      const rec = (await kms.store.readKey(id))!.value;
      assert.deepEqual(rec.materials.map((m) => m.rotationType), [null, 'AUTOMATIC'], `${id}: one automatic rotation`);
      assert.equal(currentMaterialCount(rec), 1, id);
      assert.equal(rec.currentMaterialId, rec.materials[1]!.id, id);
      const due = before.get(id)!;
      assert.equal(rec.rotation.nextRotationDate, due + (rec.rotation.periodDays! * DAY), id);
    }
    for (const id of deleting) assert.equal(await kms.store.readKey(id), null, `${id} deleted`);
    for (const id of cancelled) assert.equal((await kms.store.readKey(id))!.value.state, 'Disabled', `${id} untouched`);
    const aliases = await barrier.list('kms/aliases/');
    assert.deepEqual(aliases.filter((a) => a.includes('doomed')), []);
    assert.deepEqual(await barrier.list(DELETION_DUE_PREFIX), []);
    const rotIndex = await barrier.list(ROTATION_DUE_PREFIX);
    const expected = await Promise.all(rotating.map(async (id) => rotationDuePath((await kms.store.readKey(id))!.value.rotation.nextRotationDate!, id)));
    assert.deepEqual(rotIndex.sort(), expected.sort());

    // No ciphertext became undecryptable (a fresh service: no cached records).
    const fresh = new KmsService({ barrier, region: REGION, accountId: ACCOUNT, iam });
    for (const c of cts) {
      const r = await fresh.call('Decrypt', { CiphertextBlob: c.blob }, CALLER);
      assert.equal(Buffer.from(String(r['Plaintext']), 'base64').toString(), c.plain);
    }
    const starts = readFileSync(startLog, 'utf8').trim().split('\n').length;
    const takeovers = jobs.filter((j) => j.lastError?.name === 'LeaseExpired').length;
    process.stdout.write(`# postgres: ${kills} kills, ${starts} step starts for ${jobs.length} jobs (${starts - jobs.length} re-runs), ${takeovers} jobs last taken over after lease expiry, ${cts.length} ciphertexts checked, ${Date.now() - started} ms\n`);
    assert.ok(kills >= 5, 'too few kills before the jobs finished');
    assert.ok(starts > jobs.length, 'no kill landed inside a step');
  } finally {
    for (const c of live) c.proc.kill('SIGKILL');
    await Promise.all(live.map((c) => c.exited));
    await backend.close();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
