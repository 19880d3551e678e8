// Client bytes in many small packets, which the proxy reads into one reused buffer once the client
// is ready (src/proxy/reused-reads.ts): every chunk the proxy keeps past the read (a write to the
// server still queued, or data queued while the target is paused) must keep its own bytes. A raw
// TCP listener plays PostgreSQL (log-in without a password), so it can stop reading at will.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { validateTargets } from '../src/proxy/config.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { READY, TestSecretSource, cstr, fakeBackend, pgMessage } from './helpers/proxy.ts';

const msg = pgMessage;
const copyData = (i: number) => msg('d', Buffer.from(`row ${i} ${'x'.repeat(200 + (i % 61))}\n`));
const tick = () => new Promise((r) => setImmediate(r));

/** Polls until `ok()` holds; fails after 20 s (corrupted bytes make the proxy close the connection, so a broken build ends here, not at the test timeout). */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 20_000; !ok(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
}

/** The fake server: what it was sent after the start-up, and a switch that stops it reading. */
interface Fake {
  received: Buffer[];
  socket: Socket | undefined;
}

/** Answers the start-up and the SETs; `COPY` gets a CopyInResponse; every other Query a CommandComplete. */
function fakePostgres(fake: Fake) {
  return (s: Socket): void => fakeBackend(s, {
    data: (d, started) => { if (started) fake.received.push(Buffer.from(d)); },
    started: () => { fake.socket = s; },
    message: (type, body) => {
      if (type === 'Q' && body.toString().startsWith('COPY')) s.write(msg('G', Buffer.from([0, 0, 0])));
      else if (type === 'Q') s.write(Buffer.concat([msg('C', cstr('SELECT 1')), READY]));
      else if (type === 'c') s.write(Buffer.concat([msg('C', cstr('COPY')), READY]));
    },
  });
}

async function setUp(mode: 'session' | 'transaction') {
  const fake: Fake = { received: [], socket: undefined };
  const upstream = createServer(fakePostgres(fake));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const secrets = new TestSecretSource();
  secrets.set('app-secret', 'app', 'pw-client-reads-1');
  const proxy = new ProxyService({
    secrets,
    targets: validateTargets([{ name: 't', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: (upstream.address() as { port: number }).port }, secretIds: ['app-secret'], mode, poolSize: 2 }]),
  });
  await proxy.start();
  const c = new pg.Client({ host: '127.0.0.1', port: proxy.address('t').port, user: 'app', password: 'pw-client-reads-1', database: 'db' });
  await c.connect(); // SCRAM with the proxy; then the test speaks the protocol on the socket itself
  c.on('error', () => {});
  const stream = (c as unknown as { connection: { stream: Socket } }).connection.stream;
  stream.removeAllListeners('data');
  const answers: Buffer[] = [];
  stream.on('data', (d: Buffer) => answers.push(d));
  const answered = (bytes: Buffer) => until(() => Buffer.concat(answers).includes(bytes), `the answer ${bytes.toString('latin1')}`);
  const done = async () => {
    stream.destroy();
    fake.socket?.destroy();
    await proxy.close();
    upstream.close();
  };
  return { fake, proxy, stream, answered, done };
}

for (const mode of ['session', 'transaction'] as const) {
  test(`${mode} mode: small client packets to a server that stops reading arrive intact, in order`, { timeout: 60_000 }, async () => {
    const { fake, stream, answered, done } = await setUp(mode);
    try {
      stream.write(msg('Q', cstr('COPY t FROM STDIN')));
      await answered(msg('G', Buffer.from([0, 0, 0])));
      fake.received.length = 0;
      fake.socket!.pause(); // the proxy's writes to the server queue up once the kernel's buffers are full
      const sent: Buffer[] = [];
      let i = 0;
      // until the proxy's own writes to the server are queued and it paused this client, then more
      while (stream.writableLength < 256 * 1024 && i < 400_000 && !stream.destroyed) {
        const d = copyData(++i);
        sent.push(d);
        stream.write(d);
        if (i % 4 === 0) await tick(); // a few messages per packet at most
      }
      assert.ok(stream.writableLength >= 256 * 1024, `${mode}: ${i} CopyData messages did not fill the path`);
      for (let k = 0; k < 2000; k++) {
        const d = copyData(++i);
        sent.push(d);
        stream.write(d);
      }
      const end = msg('c', Buffer.alloc(0));
      stream.write(end);
      fake.socket!.resume();
      await answered(msg('C', cstr('COPY')));
      const want = Buffer.concat([...sent, end]);
      const got = Buffer.concat(fake.received);
      assert.equal(got.length, want.length, `${mode}: bytes the server got`);
      if (!got.equals(want)) {
        let o = 0;
        while (got[o] === want[o]) o++;
        assert.fail(`${mode}: the server's bytes differ from offset ${o}: ${got.subarray(o, o + 60).toString('latin1')}`);
      }
    } finally {
      await done();
    }
  });
}

test('transaction mode: queries sent in separate packets while the target is paused reach the server intact after resume', { timeout: 30_000 }, async () => {
  const { fake, proxy, stream, answered, done } = await setUp('transaction');
  try {
    stream.write(msg('Q', cstr('SELECT 0')));
    await answered(READY);
    fake.received.length = 0;
    await proxy.pause('t');
    const queries = Array.from({ length: 40 }, (_, i) => msg('Q', cstr(`SELECT ${i + 1} /* ${'q'.repeat(i * 7)} */`)));
    for (const q of queries) {
      // a whole query and the first bytes of the next, each write its own read in the proxy
      stream.write(q.subarray(0, 9));
      await new Promise((r) => setTimeout(r, 2));
      stream.write(q.subarray(9));
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(Buffer.concat(fake.received).length, 0, 'nothing reaches the server while paused');
    await proxy.resume('t');
    const want = Buffer.concat(queries);
    await until(() => Buffer.concat(fake.received).length >= want.length, 'the queued queries');
    assert.ok(Buffer.concat(fake.received).equals(want), Buffer.concat(fake.received).toString('latin1').slice(0, 200));
  } finally {
    await done();
  }
});
