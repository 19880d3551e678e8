// Server bytes to a client that stops reading, sent by the server in many small packets: the proxy
// reads them into a reused buffer (src/proxy/upstream.ts) and its writes to the client queue up
// behind the full socket; every queued write must keep its own bytes (client.ts reports a queued
// write to the server connection, which then reads into a fresh buffer). A raw TCP listener plays
// PostgreSQL (log-in without a password, then NoticeResponses one per packet), so the packets stay
// small whatever PostgreSQL's output buffering does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { validateTargets } from '../src/proxy/config.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { READY, TestSecretSource, cstr, fakeBackend, pgMessage } from './helpers/proxy.ts';

const msg = pgMessage;
const notice = (text: string) => msg('N', Buffer.concat([cstr('SNOTICE'), cstr('VNOTICE'), cstr('C00000'), cstr('M' + text), Buffer.from([0])]));
const text = (i: number) => `notice ${i} ${'y'.repeat(300 + (i % 50))}`;
// The flood goes on until the whole path is full (the fake server's own socket holds BACKLOG bytes
// it cannot send, so the proxy stopped reading it and its writes to the client are queued), then
// AFTER more notices: how many that takes depends on how far the kernel's socket buffers grew
// (tcp_rmem's maximum is 32 MB here), not on a fixed count. At most MAX notices (~160 MB).
const BACKLOG = 256 * 1024;
const AFTER = 2000;
const MAX = 500_000;

const flooding = { socket: undefined as Socket | undefined, done: false, count: 0 };
/** Bytes the fake server's flood has waiting because the proxy stopped reading (0 when not flooding). */
const floodBacklog = (): number => flooding.socket?.writableLength ?? 0;
const floodDone = (): boolean => flooding.done;

/** Frames what the proxy sends; answers the start-up, SETs, and the flood query. */
function fakePostgres(s: Socket): void {
  fakeBackend(s, {
    message: (type, body) => {
      if (type !== 'Q') return; // Terminate
      if (body.toString().startsWith('FLOOD')) void flood(s);
      else s.write(Buffer.concat([msg('C', cstr('SET')), READY]));
    },
  });
}

async function flood(s: Socket): Promise<void> {
  flooding.socket = s;
  flooding.done = false;
  let full = 0; // the notice after which the path was seen full
  let i = 0;
  while (i < MAX && (full === 0 || i < full + AFTER)) {
    s.write(notice(text(++i)));
    if (full === 0 && s.writableLength >= BACKLOG) full = i;
    if (i % 4 === 0) await new Promise((r) => setImmediate(r)); // a few notices per packet at most
  }
  flooding.count = i;
  s.write(Buffer.concat([msg('C', cstr('DO')), READY]));
  flooding.done = true;
}

test('small server packets to a client that stops reading arrive intact, in order (session and transaction mode)', { timeout: 60_000 }, async () => {
  const upstream = createServer(fakePostgres);
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const secrets = new TestSecretSource();
  secrets.set('app-secret', 'app', 'pw-backpressure-1');
  const up = { host: '127.0.0.1', port: (upstream.address() as { port: number }).port };
  const listen = { host: '127.0.0.1', port: 0 };
  const proxy = new ProxyService({
    secrets,
    targets: validateTargets([
      { name: 'session', listen, upstream: up, secretIds: ['app-secret'], mode: 'session', poolSize: 2 },
      { name: 'tx', listen, upstream: up, secretIds: ['app-secret'], mode: 'transaction', poolSize: 2 },
    ]),
  });
  await proxy.start();
  try {
    for (const name of ['session', 'tx']) {
      const c = new pg.Client({ host: '127.0.0.1', port: proxy.address(name).port, user: 'app', password: 'pw-backpressure-1', database: 'db' });
      await c.connect(); // SCRAM with the proxy; then this test speaks the protocol on the socket itself
      c.on('error', () => {});
      const stream = (c as unknown as { connection: { stream: Socket } }).connection.stream;
      stream.removeAllListeners('data');
      stream.pause(); // the proxy's writes to this client queue up behind the full socket
      flooding.done = false;
      flooding.socket = undefined;
      stream.write(msg('Q', cstr('FLOOD')));
      // until the proxy stops reading from the server (its writes to the client are queued past the high-water mark)
      while (!floodDone() && floodBacklog() < BACKLOG) await new Promise((r) => setTimeout(r, 5));
      const backedUp = !floodDone();
      const chunks: Buffer[] = [];
      let total = 0;
      // known once the flood is done (it is, by the time its last bytes reach the client)
      const expected = () => Array.from({ length: flooding.count }, (_, i) => notice(text(i + 1)).length).reduce((x, y) => x + y, 0) + msg('C', cstr('DO')).length + READY.length;
      let want = Infinity;
      await new Promise<void>((resolve) => {
        stream.on('data', (d: Buffer) => {
          chunks.push(d);
          total += d.length;
          if (want === Infinity && floodDone()) want = expected();
          if (total >= want) resolve();
        });
        stream.resume();
      });
      stream.destroy();
      assert.ok(backedUp, `${name}: the flood ended before the proxy's writes to the client queued up`);
      const got = Buffer.concat(chunks);
      let o = 0;
      assert.ok(flooding.count < MAX, `${name}: ${MAX} notices did not fill the path`);
      for (let i = 1; i <= flooding.count; i++) {
        const want = notice(text(i));
        if (!got.subarray(o, o + want.length).equals(want)) assert.fail(`${name}: notice ${i} differs: ${got.subarray(o, o + 60).toString('latin1')}`);
        o += want.length;
      }
      assert.deepEqual(got.subarray(o), Buffer.concat([msg('C', cstr('DO')), READY]));
    }
  } finally {
    await proxy.close();
    upstream.close();
  }
});
