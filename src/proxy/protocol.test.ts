import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  F, FRONTEND_TYPES, FrameReader, MessageScanner, ProtocolViolation, authenticationSASL, backendKeyData, cancelRequest,
  errorResponse, parseErrorFields, parseStartup, query, readyForQuery, startupMessage,
} from './protocol.ts';

const hex = (b: Buffer) => b.toString('hex');

test('builders: byte-exact frames', () => {
  assert.equal(hex(readyForQuery('I')), '5a0000000549'); // 'Z' len=5 'I'
  assert.equal(hex(query('SELECT 1')), '51' + '0000000d' + Buffer.from('SELECT 1\0').toString('hex'));
  assert.equal(hex(backendKeyData(1, 0xffffffff)), '4b0000000c00000001ffffffff');
  assert.equal(hex(authenticationSASL(['SCRAM-SHA-256'])), '52' + '00000017' + '0000000a' + Buffer.from('SCRAM-SHA-256\0\0').toString('hex'));
  const e = errorResponse('FATAL', '28P01', 'no');
  assert.equal(e[0], 'E'.charCodeAt(0));
  assert.equal(e.readUInt32BE(1), e.length - 1);
  assert.equal(e[e.length - 1], 0);
  assert.deepEqual([...parseErrorFields(e.subarray(5))], [['S', 'FATAL'], ['V', 'FATAL'], ['C', '28P01'], ['M', 'no']]);
  assert.equal(hex(cancelRequest(7, 9)), '0000001004d2162e0000000700000009');
});

test('start-up packets: startup, SSLRequest, GSSENCRequest, CancelRequest; bad layouts are violations', () => {
  const body = (b: Buffer) => b.subarray(4);
  const p = parseStartup(body(startupMessage({ user: 'app', database: 'db', _pq_x: '1' }).subarray(0)));
  assert.equal(p.kind, 'startup');
  if (p.kind === 'startup') {
    assert.deepEqual([...p.params], [['user', 'app'], ['database', 'db'], ['_pq_x', '1']]);
  }
  const withOpt = Buffer.from('\0\x03\0\0user\0a\0_pq_.opt\0v\0\0', 'binary');
  const q = parseStartup(withOpt);
  assert.ok(q.kind === 'startup' && q.unsupportedOptions[0] === '_pq_.opt');
  assert.deepEqual(parseStartup(Buffer.from('04d2162f', 'hex')), { kind: 'ssl' });
  assert.deepEqual(parseStartup(Buffer.from('04d21630', 'hex')), { kind: 'gssenc' });
  assert.deepEqual(parseStartup(body(cancelRequest(5, 6))), { kind: 'cancel', pid: 5, secret: 6 });
  const v = (b: Buffer, message: string) => assert.throws(() => parseStartup(b), { name: 'ProtocolViolation', message });
  v(Buffer.from('\0\x02\0\0user\0a\0\0', 'binary'), 'unsupported frontend protocol 2.0: server supports 3.0');
  v(Buffer.from('\0\x03\0\0user\0a\0', 'binary'), 'invalid startup packet layout: expected terminator as last byte');
  v(Buffer.from('\0\x03\0\0user\0a\0\0x', 'binary'), 'invalid startup packet layout: expected terminator as last byte');
  v(Buffer.from('\0\x03\0\0user', 'binary'), 'invalid startup packet layout');
  v(Buffer.from('04d2162e0000', 'hex'), 'invalid length of cancel request');
});

test('FrameReader: length limits (startup: 8..10000; typed: max body) and partial frames', () => {
  const r = new FrameReader(16);
  r.push(Buffer.from('00000004', 'hex'));
  assert.throws(() => r.nextStartup(), { name: 'ProtocolViolation', message: 'invalid length of startup packet' });
  const big = new FrameReader(16);
  big.push(Buffer.from('00002711', 'hex')); // 10001
  assert.throws(() => big.nextStartup(), { name: 'ProtocolViolation', message: 'invalid length of startup packet' });
  const t = new FrameReader(16);
  t.push(Buffer.from('5100000016', 'hex')); // body 18 > 16
  assert.throws(() => t.next(), (e: ProtocolViolation) => e.name === 'ProtocolViolation' && e.sqlstate === '54000' && e.message === 'message of 18 bytes exceeds the 16-byte limit');
  const ok = new FrameReader(16);
  const msg = query('x');
  ok.push(msg.subarray(0, 3));
  assert.equal(ok.next(), undefined);
  ok.push(msg.subarray(3));
  assert.deepEqual(ok.next(), { type: F.Query, body: Buffer.from('x\0') });
});

function frontendScanner(max = 1 << 20) {
  const seen: [string, string][] = [];
  const capture = new Uint8Array(256);
  capture[F.Query] = 1;
  capture[F.Terminate] = 1;
  const s = new MessageScanner({ maxLength: max, capture, known: FRONTEND_TYPES }, (t, b) => {
    seen.push([String.fromCharCode(t), b.toString('latin1')]);
    return t === F.Terminate;
  });
  return { s, seen };
}

const sync = Buffer.from('5300000004', 'hex');
const terminate = Buffer.from('5800000004', 'hex');

test('MessageScanner: the same messages at every split point; Terminate stops at its offset', () => {
  const stream = Buffer.concat([query('SELECT 1'), sync, query('x'.repeat(300)), sync, terminate, query('after')]);
  const whole = frontendScanner();
  const stop = whole.s.scan(stream);
  assert.equal(stop, stream.length - terminate.length - query('after').length);
  assert.deepEqual(whole.seen.map((m) => m[0]), ['Q', 'Q', 'X']);
  for (let i = 1; i < stream.length; i++) {
    const split = frontendScanner();
    const first = split.s.scan(stream.subarray(0, i));
    const second = first >= 0 ? first : split.s.scan(stream.subarray(i));
    assert.deepEqual(split.seen, whole.seen, `split at ${i}`);
    assert.ok(first >= 0 || second >= 0);
  }
});

test('MessageScanner: unknown type, bad lengths and oversized bodies are ProtocolViolations', () => {
  const v = (b: Buffer, message: string, sqlstate = '08P01') =>
    assert.throws(() => frontendScanner(1024).s.scan(b), (e: ProtocolViolation) => e.name === 'ProtocolViolation' && e.message === message && e.sqlstate === sqlstate);
  v(Buffer.from('7a00000004', 'hex'), 'invalid frontend message type 122');
  v(Buffer.from('5100000003', 'hex'), 'invalid message length');
  v(Buffer.from('530000000500', 'hex'), 'invalid message length'); // Sync must be empty
  v(Buffer.from('5100000405', 'hex'), 'message of 1025 bytes exceeds the 1024-byte limit', '54000');
  v(Buffer.from('51ffffffff', 'hex'), 'message of 4294967291 bytes exceeds the 1024-byte limit', '54000');
});

test('MessageScanner (property): any bytes either scan or raise a ProtocolViolation; chunking never changes the outcome', () => {
  const valid = fc.oneof(
    fc.string({ maxLength: 40 }).map((s) => query(s.replace(/\0/g, ''))),
    fc.constant(sync),
    fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.concat([Buffer.from([F.Bind]), u32(b.length + 4), b])),
  );
  const junk = fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b));
  fc.assert(
    fc.property(fc.array(fc.oneof(valid, valid, junk), { maxLength: 12 }), fc.array(fc.nat(400), { maxLength: 6 }), (parts, cuts) => {
      const stream = Buffer.concat(parts);
      const outcome = (chunks: Buffer[]) => {
        const { s, seen } = frontendScanner(1024);
        try {
          for (const c of chunks) if (s.scan(c) >= 0) return { seen, end: 'stop' };
          return { seen, end: s.atBoundary ? 'boundary' : 'partial' };
        } catch (e) {
          assert.ok(e instanceof ProtocolViolation, String(e));
          return { seen, end: 'violation:' + e.message };
        }
      };
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const p of points) {
        chunks.push(stream.subarray(prev, p));
        prev = p;
      }
      chunks.push(stream.subarray(prev));
      assert.deepEqual(outcome(chunks.filter((c) => c.length > 0)), outcome([stream]));
    }),
    { numRuns: 500 },
  );
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
