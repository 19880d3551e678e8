import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, seal } from '../crypto/index.ts';
import { Barrier, initializeSeal } from './barrier.ts';
import { MemoryBackend } from './memory.ts';
import { MARKS_FILE, startRollbackGuard } from './rollback.ts';

async function fresh() {
  const backend = new MemoryBackend();
  const root = randomBytes(32);
  await initializeSeal(backend, root, 'file');
  const dir = mkdtempSync(join(tmpdir(), 'rekey-rollback-'));
  return { backend, root, dir, barrier: await Barrier.unseal(backend, root), done: () => rmSync(dir, { recursive: true, force: true }) };
}

const rolledBack = (path: string) => (e: Error) => {
  assert.equal(e.name, 'BarrierValueError');
  assert.equal(e.message, `stored value at ${path} is older than one this node has seen (rolled back)`);
  return true;
};

/** A value in the v1 format (before stamps), as a store written by an older rekey holds it. */
function v1Value(barrier: Barrier, path: string, plain: string): Buffer {
  const key = (barrier as unknown as { keys: Map<number, Buffer> }).keys.get(1)!;
  const term = Buffer.alloc(4);
  term.writeUInt32BE(1);
  const s = seal(key, Buffer.from(plain), Buffer.concat([Buffer.from('rekey-barrier-v1\0'), term, Buffer.from(path)]));
  return Buffer.concat([Buffer.from([1]), term, s.iv, s.tag, s.ciphertext]);
}

test('values written before stamps stay readable; once rewritten, writing the old copy back is a rollback', async () => {
  const t = await fresh();
  try {
    await t.backend.put('kms/keys/k', v1Value(t.barrier, 'kms/keys/k', 'Enabled'));
    await startRollbackGuard(t.barrier, t.dir);
    const old = (await t.backend.get('kms/keys/k'))!;
    assert.equal((await t.barrier.get('kms/keys/k'))!.value.toString(), 'Enabled');
    await t.barrier.put('kms/keys/k', Buffer.from('Disabled'), { expectVersion: old.version });
    await t.backend.put('kms/keys/k', old.value);
    await assert.rejects(t.barrier.get('kms/keys/k'), rolledBack('kms/keys/k'));
  } finally {
    t.done();
  }
});

test('marks survive a restart in the data directory; an edited marks file is not used', async () => {
  const t = await fresh();
  try {
    const first = await startRollbackGuard(t.barrier, t.dir);
    assert.equal(first.loadProblem, 'no marks file (first start of this node)');
    await t.barrier.put('secrets/s/a', Buffer.from('one'), { expectVersion: 0 });
    const saved = (await t.backend.get('secrets/s/a'))!;
    await t.barrier.put('secrets/s/a', Buffer.from('two'), { expectVersion: 1 });
    await first.guard.flush();
    await t.backend.put('secrets/s/a', saved.value); // while the node is down
    const again = await Barrier.unseal(t.backend, t.root);
    const report = await startRollbackGuard(again, t.dir);
    assert.deepEqual([report.loadProblem, report.rolledBack], [null, ['secrets/s/a']]);

    const file = join(t.dir, MARKS_FILE);
    const f = JSON.parse(readFileSync(file, 'utf8')) as { marks: Record<string, { s: number }> };
    f.marks['secrets/s/a'] = { s: 0 };
    writeFileSync(file, JSON.stringify(f));
    const third = await startRollbackGuard(await Barrier.unseal(t.backend, t.root), t.dir);
    assert.deepEqual([third.loadProblem, third.rolledBack], ['the marks file is not authentic (edited?)', []]);
  } finally {
    t.done();
  }
});

test('a blind write (no compare-and-swap) allows for another node overwriting it with a smaller stamp', async () => {
  const t = await fresh();
  try {
    await startRollbackGuard(t.barrier, t.dir);
    await t.barrier.put('iam/users/u', Buffer.from('one'));
    const saved = (await t.backend.get('iam/users/u'))!;
    await t.barrier.put('iam/users/u', Buffer.from('two'));
    await t.backend.put('iam/users/u', saved.value); // as a skewed node's blind write would land
    assert.equal((await t.barrier.get('iam/users/u'))!.value.toString(), 'one');
  } finally {
    t.done();
  }
});

test('a read that raced a write may return the older value: no false alarm', async () => {
  const t = await fresh();
  try {
    await startRollbackGuard(t.barrier, t.dir);
    await t.barrier.put('iam/access-keys/A', Buffer.from('v1'));
    // a slow backend read: the value is taken before the write, returned after it
    const realGet = t.backend.get.bind(t.backend);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.backend.get = async (k) => {
      const e = await realGet(k);
      await gate;
      return e;
    };
    const slow = t.barrier.get('iam/access-keys/A');
    t.backend.get = realGet;
    await t.barrier.put('iam/access-keys/A', Buffer.from('v2'), { expectVersion: 1 });
    release();
    assert.equal((await slow)!.value.toString(), 'v1');
    assert.equal((await t.barrier.get('iam/access-keys/A'))!.value.toString(), 'v2');
  } finally {
    t.done();
  }
});

test('deleted and created again is fine; deleted and written back is a rollback; unprotected paths are not checked', async () => {
  const t = await fresh();
  try {
    await startRollbackGuard(t.barrier, t.dir);
    await t.barrier.put('kms/grants/k', Buffer.from('grant'));
    const saved = (await t.backend.get('kms/grants/k'))!;
    await t.barrier.delete('kms/grants/k');
    await t.barrier.put('kms/grants/k', Buffer.from('new grant'));
    assert.equal((await t.barrier.get('kms/grants/k'))!.value.toString(), 'new grant');
    await t.barrier.transaction([{ type: 'delete', key: 'kms/grants/k' }]);
    await t.backend.put('kms/grants/k', saved.value);
    await assert.rejects(t.barrier.get('kms/grants/k'), (e: Error) => {
      assert.equal(e.message, 'stored value at kms/grants/k is a row this node saw deleted, back with an older value (rolled back)');
      return true;
    });
    await t.barrier.put('jobs/x', Buffer.from('a'));
    const job = (await t.backend.get('jobs/x'))!;
    await t.barrier.put('jobs/x', Buffer.from('b'));
    await t.backend.put('jobs/x', job.value);
    assert.equal((await t.barrier.get('jobs/x'))!.value.toString(), 'a');
  } finally {
    t.done();
  }
});

test('a delete whose compare-and-swap lost is no deletion: the newer row stays readable', async () => {
  const t = await fresh();
  try {
    await startRollbackGuard(t.barrier, t.dir);
    await t.barrier.put('kms/keys/cas', Buffer.from('v1'), { expectVersion: 0 });
    await t.barrier.put('kms/keys/cas', Buffer.from('v2'), { expectVersion: 1 }); // another writer moved it on
    const deleted = await t.barrier.delete('kms/keys/cas', { expectVersion: 1 }).catch(() => false);
    assert.equal(deleted, false);
    assert.equal((await t.barrier.get('kms/keys/cas'))!.value.toString(), 'v2');
  } finally {
    t.done();
  }
});
