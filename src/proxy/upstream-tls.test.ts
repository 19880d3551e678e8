// The SSLRequest answer from servers that misbehave (a real PostgreSQL never does; a man in the
// middle can): raw TCP listeners that answer with chosen bytes. The happy paths and certificate
// checks run against a real PostgreSQL in test/proxy-upstream-tls.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { ServerConn } from './upstream.ts';
import { sslRequest, startUpstreamTls } from './upstream-tls.ts';

/** A listener that reads the 8-byte SSLRequest, checks it, then does `answer(socket)`. */
async function fakeServer(answer: (s: Socket) => void): Promise<{ server: Server; port: number; requests: Buffer[] }> {
  const requests: Buffer[] = [];
  const server = createServer((s) => {
    s.once('data', (d: Buffer) => {
      requests.push(d);
      answer(s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, requests };
}

const login = (port: number) =>
  ServerConn.connect({ endpoint: { host: '127.0.0.1', port }, user: 'app', password: 'secret-pw-1', database: 'db', connectTimeoutMs: 5000, generation: 0, tls: { mode: 'verify-full', ca: undefined, serverName: undefined } });

test('sslRequest is length 8, code 80877103', () => {
  assert.deepEqual([...sslRequest()], [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
});

test("'S' followed by plaintext in the same packet is refused before any handshake (CVE-2021-23222 class)", async () => {
  const f = await fakeServer((s) => s.write(Buffer.concat([Buffer.from('S'), Buffer.from('R\0\0\0\x08\0\0\0\0')])));
  try {
    await assert.rejects(login(f.port), { name: 'UpstreamError', message: `the server at 127.0.0.1:${f.port} sent unencrypted data after its SSL answer (possible man-in-the-middle): refused`, sqlstate: '08001' });
    assert.deepEqual(f.requests.map((r) => [...r]), [[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]]);
  } finally {
    f.server.close();
  }
});

test('an answer other than S or N is a protocol error, never a plaintext login', async () => {
  const f = await fakeServer((s) => s.write('E'));
  try {
    await assert.rejects(login(f.port), (e: Error & { sqlstate?: string }) => {
      assert.equal(e.message, `the server at 127.0.0.1:${f.port} sent an invalid answer to SSLRequest (byte 0x45)`);
      assert.equal(e.sqlstate, '08001');
      assert.ok(!e.message.includes('secret-pw-1'));
      return true;
    });
  } finally {
    f.server.close();
  }
});

test('a server that closes before answering', async () => {
  const f = await fakeServer((s) => s.destroy());
  try {
    await assert.rejects(login(f.port), { name: 'UpstreamError', message: `the server at 127.0.0.1:${f.port} closed the connection during the SSL request` });
  } finally {
    f.server.close();
  }
});

test("'S' then garbage instead of a TLS handshake fails the handshake (bytes after S belong to TLS)", async () => {
  const f = await fakeServer((s) => {
    s.write('S');
    s.once('data', () => s.end('this is not TLS\n'));
  });
  try {
    const sock = connect({ host: '127.0.0.1', port: f.port });
    await new Promise((r) => sock.once('connect', r));
    await assert.rejects(startUpstreamTls(sock, { mode: 'require', ca: undefined, serverName: undefined }, '127.0.0.1'), (e: Error) => {
      assert.equal(e.name, 'UpstreamTlsError');
      assert.match(e.message, new RegExp(`^TLS handshake with 127\\.0\\.0\\.1:${f.port} failed \\(upstream\\.tls require\\): `));
      return true;
    });
    sock.destroy();
  } finally {
    f.server.close();
  }
});

test('fast-check: whatever a server answers to SSLRequest, the login is an UpstreamError (08001), never plaintext or a crash', async () => {
  let answer = Buffer.alloc(0);
  let plaintextSeen = false;
  const f = await fakeServer((s) => {
    s.write(answer);
    // a StartupMessage (length, then protocol 3.0) arriving here would be a plaintext login attempt
    s.on('data', (d: Buffer) => (plaintextSeen ||= d.length >= 8 && d.readUInt32BE(4) === 196608));
    setTimeout(() => s.destroy(), 20);
  });
  try {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 40 }), async (bytes) => {
      answer = Buffer.from(bytes);
      const e = await login(f.port).then(() => undefined, (x: Error & { sqlstate?: string }) => x);
      assert.equal(e?.name, 'UpstreamError');
      assert.equal(e?.sqlstate, '08001');
      assert.ok(!e?.message.includes('secret-pw-1'));
    }), { numRuns: 40 });
    assert.equal(plaintextSeen, false);
  } finally {
    f.server.close();
  }
});
