// The one conformance suite every Backend must pass (in the spirit of OpenBao's
// sdk/physical/testing.go ExerciseBackend). Each test gets a fresh, empty backend from `make`.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Backend, CasConflict } from './backend.ts';

const isCas = (key: string) => (e: unknown) => {
  assert.ok(e instanceof CasConflict, `expected CasConflict, got ${String(e)}`);
  assert.equal(e.name, 'CasConflict');
  assert.equal(e.key, key);
  return true;
};

/** Deterministic bytes (so a failure is reproducible), covering every byte value. */
function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export function backendConformance(name: string, make: () => Promise<Backend>, teardown?: () => Promise<void>): void {
  describe(`backend conformance: ${name}`, () => {
    if (teardown) after(teardown);

    const withBackend = (title: string, fn: (b: Backend) => Promise<void>) =>
      test(title, async () => {
        const b = await make();
        try {
          await fn(b);
        } finally {
          await b.close();
        }
      });

    withBackend('get of a missing key returns null', async (b) => {
      assert.equal(await b.get('no/such/key'), null);
    });

    withBackend('binary values round-trip exactly, including empty and 1 MiB', async (b) => {
      const values: Record<string, Buffer> = {
        'v/empty': Buffer.alloc(0),
        'v/zeros': Buffer.alloc(17),
        'v/all-bytes': Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        'v/nul-edges': Buffer.from([0, 0xff, 0, 0x80, 0]),
        'v/1mib': bytes(1024 * 1024, 7),
      };
      for (const [k, v] of Object.entries(values)) assert.equal(await b.put(k, v), 1);
      for (const [k, v] of Object.entries(values)) {
        const e = await b.get(k);
        assert.ok(e, k);
        assert.equal(e.key, k);
        assert.equal(e.version, 1);
        assert.ok(e.value instanceof Uint8Array);
        assert.equal(Buffer.compare(Buffer.from(e.value), v), 0, `${k} differs`);
      }
    });

    withBackend('a put stores a copy: later changes to the caller\'s buffer do not leak in', async (b) => {
      const v = Buffer.from('original');
      await b.put('copy/k', v);
      v.fill(0);
      const e = await b.get('copy/k');
      assert.equal(Buffer.from(e!.value).toString(), 'original');
      e!.value.fill(1);
      assert.equal(Buffer.from((await b.get('copy/k'))!.value).toString(), 'original');
    });

    withBackend('versions start at 1, increment on every put, restart after delete', async (b) => {
      assert.equal(await b.put('ver/k', Buffer.from('a')), 1);
      assert.equal(await b.put('ver/k', Buffer.from('b')), 2);
      assert.equal(await b.put('ver/k', Buffer.from('c')), 3);
      const e = await b.get('ver/k');
      assert.equal(e!.version, 3);
      assert.equal(Buffer.from(e!.value).toString(), 'c');
      assert.equal(await b.delete('ver/k'), true);
      assert.equal(await b.delete('ver/k'), false);
      assert.equal(await b.get('ver/k'), null);
      assert.equal(await b.put('ver/k', Buffer.from('d')), 1);
    });

    withBackend('CAS put: 0 means must not exist, n means must be at version n', async (b) => {
      assert.equal(await b.put('cas/k', Buffer.from('one'), { expectVersion: 0 }), 1);
      await assert.rejects(b.put('cas/k', Buffer.from('two'), { expectVersion: 0 }), isCas('cas/k'));
      assert.equal(await b.put('cas/k', Buffer.from('two'), { expectVersion: 1 }), 2);
      await assert.rejects(b.put('cas/k', Buffer.from('stale'), { expectVersion: 1 }), isCas('cas/k'));
      await assert.rejects(b.put('cas/k', Buffer.from('future'), { expectVersion: 3 }), isCas('cas/k'));
      await assert.rejects(b.put('cas/missing', Buffer.from('x'), { expectVersion: 1 }), isCas('cas/missing'));
      const e = await b.get('cas/k');
      assert.equal(e!.version, 2);
      assert.equal(Buffer.from(e!.value).toString(), 'two');
      assert.equal(await b.get('cas/missing'), null);
    });

    withBackend('CAS delete', async (b) => {
      await b.put('casd/k', Buffer.from('v'));
      await b.put('casd/k', Buffer.from('v2'));
      await assert.rejects(b.delete('casd/k', { expectVersion: 1 }), isCas('casd/k'));
      await assert.rejects(b.delete('casd/k', { expectVersion: 0 }), isCas('casd/k'));
      assert.equal((await b.get('casd/k'))!.version, 2);
      assert.equal(await b.delete('casd/k', { expectVersion: 2 }), true);
      assert.equal(await b.get('casd/k'), null);
      assert.equal(await b.delete('casd/k', { expectVersion: 0 }), false);
      await assert.rejects(b.delete('casd/k', { expectVersion: 2 }), isCas('casd/k'));
    });

    withBackend('invalid expectVersion values are rejected', async (b) => {
      for (const v of [-1, 1.5, Number.NaN, 2 ** 53]) {
        await assert.rejects(b.put('ev/k', Buffer.from('x'), { expectVersion: v }), RangeError, String(v));
        await assert.rejects(b.delete('ev/k', { expectVersion: v }), RangeError, String(v));
      }
      assert.equal(await b.get('ev/k'), null);
    });

    withBackend('list: prefix, byte order, after, limit', async (b) => {
      const keys = ['a/a', 'a/B', 'a/_', 'a/Z', 'a/a/deep', 'a/b', 'a', 'ab', 'b/1', 'a~', 'a/~'];
      for (const k of keys) await b.put(k, Buffer.from(k));
      // Byte order: 'B'(0x42) < 'Z'(0x5a) < '_'(0x5f) < 'a'(0x61) < '~'(0x7e); a locale collation would differ.
      assert.deepEqual(await b.list('a/'), ['a/B', 'a/Z', 'a/_', 'a/a', 'a/a/deep', 'a/b', 'a/~']);
      assert.deepEqual(await b.list(''), [...keys].sort(byBytes));
      assert.deepEqual(await b.list('a'), ['a', 'a/B', 'a/Z', 'a/_', 'a/a', 'a/a/deep', 'a/b', 'a/~', 'ab', 'a~']);
      assert.deepEqual(await b.list('a/', { after: 'a/_' }), ['a/a', 'a/a/deep', 'a/b', 'a/~']);
      assert.deepEqual(await b.list('a/', { after: 'a/a' }), ['a/a/deep', 'a/b', 'a/~']);
      assert.deepEqual(await b.list('a/', { limit: 2 }), ['a/B', 'a/Z']);
      assert.deepEqual(await b.list('a/', { after: 'a/Z', limit: 2 }), ['a/_', 'a/a']);
      assert.deepEqual(await b.list('a/', { limit: 0 }), []);
      assert.deepEqual(await b.list('a/', { after: 'a/~' }), []);
      assert.deepEqual(await b.list('a/', { after: '0' }), await b.list('a/')); // after below the range
      assert.deepEqual(await b.list('a/', { after: 'z' }), []); // after above the range
      assert.deepEqual(await b.list('c/'), []);
      assert.deepEqual(await b.list('a~'), ['a~']);
    });

    withBackend('list pages cover every key exactly once', async (b) => {
      const keys = Array.from({ length: 23 }, (_, i) => `page/${String(i).padStart(3, '0')}`);
      for (const k of [...keys].reverse()) await b.put(k, Buffer.from('x'));
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await b.list('page/', after === undefined ? { limit: 5 } : { after, limit: 5 });
        if (page.length === 0) break;
        seen.push(...page);
        after = page.at(-1);
      }
      assert.deepEqual(seen, keys);
    });

    withBackend("list: '%', '_' and '\\' in a prefix are literal characters, not LIKE patterns", async (b) => {
      for (const k of ['p%/1', 'p_/2', 'pX/3', 'pa/4', 'p\\/5', 'p%x/6', 'p\\%/7']) await b.put(k, Buffer.from(k));
      assert.deepEqual(await b.list('p%'), ['p%/1', 'p%x/6']);
      assert.deepEqual(await b.list('p_'), ['p_/2']);
      assert.deepEqual(await b.list('p\\'), ['p\\%/7', 'p\\/5']);
      assert.deepEqual(await b.list('p\\%'), ['p\\%/7']);
      assert.deepEqual(await b.list('%'), []);
      assert.deepEqual(await b.list('_'), []);
    });

    withBackend('transaction applies puts and deletes together, with CAS', async (b) => {
      await b.put('tx/old', Buffer.from('old'));
      await b.put('tx/cas', Buffer.from('v1'));
      await b.transaction([
        { type: 'put', key: 'tx/new', value: Buffer.from('new'), expectVersion: 0 },
        { type: 'put', key: 'tx/cas', value: Buffer.from('v2'), expectVersion: 1 },
        { type: 'delete', key: 'tx/old', expectVersion: 1 },
        { type: 'put', key: 'tx/plain', value: Buffer.from('p') },
        { type: 'delete', key: 'tx/never-existed' },
      ]);
      assert.equal(await b.get('tx/old'), null);
      assert.equal(Buffer.from((await b.get('tx/new'))!.value).toString(), 'new');
      const cas = await b.get('tx/cas');
      assert.equal(cas!.version, 2);
      assert.equal(Buffer.from(cas!.value).toString(), 'v2');
      assert.deepEqual(await b.list('tx/'), ['tx/cas', 'tx/new', 'tx/plain']);
      await b.transaction([]); // empty batch is a no-op
    });

    withBackend('transaction is atomic: a failing CAS in the middle changes nothing', async (b) => {
      await b.put('atom/a', Buffer.from('a1'));
      await b.put('atom/z', Buffer.from('z1'));
      await b.put('atom/m', Buffer.from('m1'));
      await b.put('atom/m', Buffer.from('m2'));
      const snapshot = await dump(b);
      await assert.rejects(
        b.transaction([
          { type: 'put', key: 'atom/a', value: Buffer.from('a2') },
          { type: 'delete', key: 'atom/z' },
          { type: 'put', key: 'atom/new', value: Buffer.from('n'), expectVersion: 0 },
          { type: 'put', key: 'atom/m', value: Buffer.from('m3'), expectVersion: 1 }, // stale: m is at 2
          { type: 'put', key: 'atom/n', value: Buffer.from('n') },
        ]),
        isCas('atom/m'),
      );
      assert.deepEqual(await dump(b), snapshot);
      await assert.rejects(
        b.transaction([
          { type: 'put', key: 'atom/b', value: Buffer.from('b') },
          { type: 'delete', key: 'atom/gone', expectVersion: 4 }, // missing, so not at version 4
        ]),
        isCas('atom/gone'),
      );
      assert.deepEqual(await dump(b), snapshot);
    });

    withBackend('transaction rejects invalid batches before touching anything', async (b) => {
      await b.put('inv/k', Buffer.from('v'));
      const snapshot = await dump(b);
      const bad: unknown[][] = [
        [{ type: 'put', key: 'inv/x', value: Buffer.from('x') }, { type: 'put', key: 'bad\0key', value: Buffer.from('x') }],
        [{ type: 'put', key: 'inv/x', value: Buffer.from('1') }, { type: 'delete', key: 'inv/x' }],
        [{ type: 'put', key: 'inv/x', value: Buffer.from('1'), expectVersion: -1 }],
        [{ type: 'put', key: 'inv/x', value: 'not bytes' }],
        [{ type: 'upsert', key: 'inv/x', value: Buffer.from('1') }],
      ];
      for (const ops of bad) await assert.rejects(b.transaction(ops as never), RangeError, JSON.stringify(ops));
      assert.deepEqual(await dump(b), snapshot);
    });

    withBackend('20 concurrent CAS puts at the same version: exactly one wins', async (b) => {
      await b.put('race/k', Buffer.from('start'));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => b.put('race/k', Buffer.from(`writer-${i}`), { expectVersion: 1 })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners.join(',')}`);
      for (const r of results) if (r.status === 'rejected') isCas('race/k')(r.reason);
      const e = await b.get('race/k');
      assert.equal(e!.version, 2);
      assert.equal(Buffer.from(e!.value).toString(), `writer-${winners[0]}`);
    });

    withBackend('20 concurrent first inserts (expectVersion 0): exactly one wins, the rest CasConflict', async (b) => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => b.put('race/new', Buffer.from(`writer-${i}`), { expectVersion: 0 })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') isCas('race/new')(r.reason);
      assert.equal((await b.get('race/new'))!.version, 1);
    });

    withBackend('20 concurrent CAS transactions on the same key: exactly one wins', async (b) => {
      await b.put('race/tx', Buffer.from('start'));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => b.transaction([
          { type: 'put', key: `race/tx-side-${String(i).padStart(2, '0')}`, value: Buffer.from('side') },
          { type: 'put', key: 'race/tx', value: Buffer.from(`writer-${i}`), expectVersion: 1 },
        ])),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1);
      for (const r of results) if (r.status === 'rejected') isCas('race/tx')(r.reason);
      // The losers' side writes were rolled back with them.
      assert.deepEqual(await b.list('race/tx-side-'), [`race/tx-side-${String(winners[0]).padStart(2, '0')}`]);
    });

    withBackend('invalid keys are rejected everywhere', async (b) => {
      const bad = ['', 'a\0b', 'tab\there', 'line\n', 'ключ', 'emoji-🔑', 'del\x7f', 'x'.repeat(513)];
      for (const k of bad) {
        const label = JSON.stringify(k.slice(0, 20));
        await assert.rejects(b.get(k), RangeError, label);
        await assert.rejects(b.put(k, Buffer.from('v')), RangeError, label);
        await assert.rejects(b.delete(k), RangeError, label);
        await assert.rejects(b.transaction([{ type: 'put', key: k, value: Buffer.from('v') }]), RangeError, label);
        if (k !== '') await assert.rejects(b.list(k), RangeError, label);
      }
      await assert.rejects(b.list('ok/', { after: 'a\0' }), RangeError);
      await assert.rejects(b.list('ok/', { limit: -1 }), RangeError);
      await assert.rejects(b.put('ok/k', 'string' as never), RangeError);
      assert.equal(await b.put('x'.repeat(512), Buffer.from('longest key')), 1);
      assert.equal(await b.put(' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', Buffer.from('punctuation')), 1);
      assert.equal((await b.list('')).length, 2);
    });

    test('close is idempotent and the backend refuses work afterwards', async () => {
      const b = await make();
      await b.put('close/k', Buffer.from('v'));
      await b.close();
      await b.close();
      await assert.rejects(b.get('close/k'));
      await assert.rejects(b.put('close/k', Buffer.from('v')));
    });
  });
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function dump(b: Backend): Promise<{ key: string; version: number; value: string }[]> {
  const out = [];
  for (const key of await b.list('')) {
    const e = await b.get(key);
    if (e) out.push({ key, version: e.version, value: Buffer.from(e.value).toString('hex') });
  }
  return out;
}
