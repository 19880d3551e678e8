// A plaintext server connection reads into one reused buffer (upstream.ts, ReusedReads): a chunk the
// sink keeps (its write to the client still queued) must never be overwritten by the next read.
// A raw TCP listener plays the server: log-in without a password, then bytes in separate packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { ServerConn } from './upstream.ts';

const AUTH_OK = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]); // 'R' AuthenticationOk
const READY = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z' ReadyForQuery 'I'

async function serverThatLogsIn(): Promise<{ close: () => void; port: number; socket: Promise<Socket> }> {
  let give: (s: Socket) => void = () => {};
  const socket = new Promise<Socket>((r) => (give = r));
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.once('data', () => {
      s.write(Buffer.concat([AUTH_OK, READY]));
      give(s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { close: () => server.close(), port: (server.address() as { port: number }).port, socket };
}

/** Writes each part as its own packet, waiting until the proxy side has read it. */
async function sendApart(s: Socket, parts: Buffer[], received: () => number): Promise<void> {
  let sent = 0;
  for (const p of parts) {
    s.write(p);
    sent += p.length;
    while (received() < sent) await new Promise((r) => setImmediate(r));
  }
}

test('chunks the sink keeps stay intact; chunks it lets go may share the buffer', async () => {
  const f = await serverThatLogsIn();
  const conn = await ServerConn.connect({ endpoint: { host: '127.0.0.1', port: f.port }, user: 'app', password: 'unused', database: 'db', connectTimeoutMs: 5000, generation: 0 });
  try {
    const server = await f.socket;
    const parts = Array.from({ length: 200 }, (_, i) => Buffer.from(`part ${i} ${'z'.repeat(i % 37)};`));
    const kept: Buffer[] = [];
    const copies: Buffer[] = [];
    let received = 0;
    let n = 0;
    conn.attach(
      (chunk) => {
        received += chunk.length;
        copies.push(Buffer.from(chunk));
        const keep = n++ % 2 === 0; // every other chunk is "still queued"
        if (keep) kept.push(chunk);
        return keep;
      },
      () => {},
    );
    await sendApart(server, parts, () => received);
    assert.equal(Buffer.concat(copies).toString(), Buffer.concat(parts).toString());
    assert.ok(kept.length >= 50, `${kept.length} chunks kept (parts must arrive in separate reads)`);
    // each kept chunk still holds what was read into it
    for (let i = 0, k = 0; i < copies.length; i += 2, k++) assert.equal(kept[k]!.toString(), copies[i]!.toString(), `kept chunk ${k}`);
  } finally {
    conn.close();
    f.close();
  }
});
