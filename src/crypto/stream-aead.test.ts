import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { openStream, sealStream, sealedLength, StreamAuthenticationFailed, STREAM_HEADER_BYTES, STREAM_TAG_BYTES } from './stream-aead.ts';
import { FIXTURE_DATA_KEY, fixturePlaintext, PLAIN_V1, SEALED_V1 } from './fixtures/stream-v1.ts';

const KEY = Buffer.alloc(32, 7);
const C = 4096;

/** `data` written in pieces of `piece` bytes (so chunk boundaries fall inside writes). */
function source(data: Buffer, piece = 1000): Readable {
  const parts: Buffer[] = [];
  for (let o = 0; o < data.length; o += piece) parts.push(data.subarray(o, o + piece));
  return Readable.from(parts);
}
const seal = (data: Buffer, key: Buffer | null = KEY) => buffer(source(data).pipe(sealStream({ ...(key ? { dataKey: key } : {}), chunkBytes: C })));

async function opened(data: Buffer, key: Buffer | null = KEY): Promise<Buffer> {
  return buffer(source(data, 777).pipe(openStream(key ? { dataKey: key } : {})));
}

function expectFailure(p: Promise<unknown>, chunk: number | 'header') {
  return assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof StreamAuthenticationFailed);
    assert.equal(e.name, 'StreamAuthenticationFailed');
    assert.equal(e.message, new StreamAuthenticationFailed(chunk).message);
    return true;
  });
}

test('round trip, sealed and plain, at every size around the chunk boundaries; length is predictable', async () => {
  for (const n of [0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 5]) {
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = i & 255;
    for (const key of [KEY, null]) {
      const s = await seal(data, key);
      assert.equal(s.length, sealedLength(n, C), `size ${n}`);
      assert.ok((await opened(s, key)).equals(data), `size ${n} key ${Boolean(key)}`);
    }
  }
});

test('the saved v1 streams still open (a format change fails here)', async () => {
  assert.ok((await opened(SEALED_V1, FIXTURE_DATA_KEY)).equals(fixturePlaintext()));
  assert.ok((await opened(PLAIN_V1, null)).equals(fixturePlaintext()));
  assert.equal(SEALED_V1.subarray(0, 8).toString('hex'), '524b535401010000');
  assert.equal(SEALED_V1.readUInt32BE(8), 4096);
  assert.equal(SEALED_V1.length, STREAM_HEADER_BYTES + 9000 + 3 * STREAM_TAG_BYTES);
});

test('a flipped bit, a dropped, repeated or reordered chunk, a truncated tail, a wrong key: one error naming the chunk', async () => {
  const data = Buffer.alloc(3 * C + 100, 0x61);
  const s = await seal(data);
  const W = C + STREAM_TAG_BYTES;
  const chunk = (i: number) => s.subarray(STREAM_HEADER_BYTES + i * W, STREAM_HEADER_BYTES + (i + 1) * W);
  const head = s.subarray(0, STREAM_HEADER_BYTES);

  const flipped = Buffer.from(s);
  flipped[STREAM_HEADER_BYTES + W + 100]! ^= 0x01;
  await expectFailure(opened(flipped), 1);
  const tagFlip = Buffer.from(s);
  tagFlip[s.length - 1]! ^= 0x80;
  await expectFailure(opened(tagFlip), 3);
  await expectFailure(opened(Buffer.concat([head, chunk(0), chunk(2), s.subarray(STREAM_HEADER_BYTES + 3 * W)])), 1); // dropped
  await expectFailure(opened(Buffer.concat([head, chunk(1), chunk(0), s.subarray(STREAM_HEADER_BYTES + 2 * W)])), 0); // reordered
  await expectFailure(opened(Buffer.concat([head, chunk(0), chunk(0), s.subarray(STREAM_HEADER_BYTES + W)])), 1); // repeated
  await expectFailure(opened(s.subarray(0, STREAM_HEADER_BYTES + 3 * W)), 2); // cut at a chunk boundary: the last whole chunk is not final
  await expectFailure(opened(s.subarray(0, s.length - 10)), 3); // cut inside the final chunk
  await expectFailure(opened(s.subarray(0, STREAM_HEADER_BYTES + 5)), 0);
  await expectFailure(opened(s, Buffer.alloc(32, 8)), 0); // wrong key
  const otherSize = Buffer.from(s);
  otherSize.writeUInt32BE(8192, 8);
  await expectFailure(opened(otherSize), 0); // the header is in every chunk's AAD
  await expectFailure(opened(s.subarray(0, 20)), 'header');
  await expectFailure(opened(Buffer.alloc(0)), 'header');
  await expectFailure(opened(Buffer.from('not a stream at all, just some bytes that are long enough to be a header')), 'header');
  // a sealed stream is not accepted as plain, nor a plain one where a key is expected (no downgrade)
  await expectFailure(opened(s, null), 'header');
  await expectFailure(opened(await seal(data, null), KEY), 'header');
  // plain streams detect damage too
  const plain = await seal(data, null);
  plain[STREAM_HEADER_BYTES + 5]! ^= 0x04;
  await expectFailure(opened(plain, null), 0);
});

test('nothing of a bad chunk is emitted: the good chunks before it are, then the error', async () => {
  const data = Buffer.alloc(3 * C, 0x62);
  const s = await seal(data);
  s[STREAM_HEADER_BYTES + 2 * (C + STREAM_TAG_BYTES) + 3]! ^= 1;
  let got = 0;
  await expectFailure(pipeline(source(s), openStream({ dataKey: KEY }), new Writable({ write(c: Buffer, _e, cb) { got += c.length; cb(); } })), 2);
  assert.equal(got, 2 * C);
});

test('memory stays constant: 64 MiB through seal and open with little heap growth', async () => {
  const piece = Buffer.alloc(64 * 1024, 0x33);
  let n = 0;
  const before = process.memoryUsage().heapUsed;
  let peak = 0;
  let total = 0;
  await pipeline(
    Readable.from((function* () { while (n++ < 1024) yield piece; })()),
    sealStream({ dataKey: KEY }),
    openStream({ dataKey: KEY }),
    new Writable({ write(c: Buffer, _e, cb) { total += c.length; peak = Math.max(peak, process.memoryUsage().heapUsed - before); cb(); } }),
  );
  assert.equal(total, 64 * 1024 * 1024);
  assert.ok(peak < 32 * 1024 * 1024, `heap grew by ${peak} bytes`);
});
