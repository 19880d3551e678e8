// Malformed, truncated and oversized frames against the running proxy, before and after
// authentication (fast-check), while another client keeps querying through the same proxy. The
// proxy answers each bad client with an ErrorResponse and/or closes it; it never crashes and the
// other client never notices.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { ScramClient } from '../src/crypto/scram-exchange.ts';
import { validateTargets } from '../src/proxy/config.ts';
import { AUTH, FrameReader, parseErrorFields, query, saslInitialResponse, saslResponse, startupMessage } from '../src/proxy/protocol.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, TestSecretSource } from './helpers/proxy.ts';

let server: StartedPostgres;
let proxy: ProxyService;
let password: string;
const errors: unknown[] = [];

before(async () => {
  server = await startPostgres();
  password = await createRole(server, 'app');
  const secrets = new TestSecretSource();
  secrets.set('app', 'app', password);
  const common = { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: server.port }, secretIds: ['app'], maxMessageBytes: 4096, authTimeoutMs: 2000 };
  proxy = new ProxyService({ secrets, log: (e) => errors.push(e), targets: validateTargets([{ name: 'session', mode: 'session', ...common }, { name: 'tx', mode: 'transaction', ...common }]) });
  await proxy.start();
});

after(async () => {
  await proxy?.close();
  await server?.stop();
});

interface Outcome {
  closed: boolean;
  errors: Map<string, string>[];
}

/** Reads the server's messages until the socket closes (or `ms` pass); collects ErrorResponses. */
function drain(sock: Socket, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const r = new FrameReader(1 << 20);
    const errs: Map<string, string>[] = [];
    let closed = false;
    sock.on('data', (d: Buffer) => {
      r.push(d);
      try {
        for (let m = r.next(); m; m = r.next()) if (m.type === 0x45) errs.push(parseErrorFields(m.body));
      } catch {
        // ignore
      }
    });
    const done = () => resolve({ closed, errors: errs });
    sock.on('close', () => {
      closed = true;
      clearTimeout(t);
      done();
    });
    sock.on('error', () => {});
    const t = setTimeout(() => {
      sock.destroy();
      done();
    }, ms);
  });
}

/** Connects and logs in with raw messages (SCRAM by hand); resolves at the first ReadyForQuery. */
async function rawLogin(port: number): Promise<Socket> {
  const sock = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const r = new FrameReader(1 << 20);
  const scram = new ScramClient(password);
  sock.write(startupMessage({ user: 'app', database: server.database }));
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      r.push(d);
      for (let m = r.next(); m; m = r.next()) {
        if (m.type === 0x52) {
          const c = m.body.readUInt32BE(0);
          if (c === AUTH.SASL) sock.write(saslInitialResponse('SCRAM-SHA-256', Buffer.from(scram.clientFirst())));
          else if (c === AUTH.SASLContinue) sock.write(saslResponse(Buffer.from(scram.clientFinal(m.body.toString('utf8', 4)))));
        } else if (m.type === 0x45) reject(new Error(parseErrorFields(m.body).get('M')));
        else if (m.type === 0x5a) {
          sock.off('data', onData);
          resolve();
        }
      }
    };
    sock.on('data', onData);
  });
  return sock;
}

const frame = (type: number, body: Uint8Array, len = body.length + 4) => {
  const b = Buffer.alloc(5 + body.length);
  b[0] = type;
  b.writeUInt32BE(len >>> 0, 1);
  Buffer.from(body).copy(b, 5);
  return b;
};

const badFrames = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)), // random bytes
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 16 })).map(([t, b]) => frame(t, b)), // any type byte
  fc.uint8Array({ maxLength: 8 }).map((b) => frame(0x51, b, 4097 + b.length)), // oversized Query (limit 4096)
  fc.integer({ min: 0, max: 3 }).map((len) => frame(0x51, new Uint8Array(), len)), // length below 4
  fc.integer({ min: 1, max: 4 }).map((n) => query('SELECT 1').subarray(0, n)), // truncated header
  fc.integer({ min: 6, max: 12 }).map((n) => query('SELECT 1').subarray(0, n)), // truncated body
  fc.constant(frame(0x53, new Uint8Array([1]))), // Sync with a body
);

test('fuzz: bad frames before and after authentication close that client only; another client keeps working', async () => {
  const side = new pg.Client({ host: '127.0.0.1', port: proxy.address('tx').port, user: 'app', password, database: server.database });
  await side.connect();
  let sideQueries = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      assert.equal((await side.query('SELECT $1::int AS n', [sideQueries])).rows[0].n, sideQueries);
      sideQueries++;
    }
  })();
  let errorsSeen = 0;
  try {
    await fc.assert(
      fc.asyncProperty(badFrames, fc.boolean(), fc.constantFrom('session', 'tx'), async (bytes, authenticated, target) => {
        const port = proxy.address(target).port;
        const sock = authenticated ? await rawLogin(port) : connect({ host: '127.0.0.1', port });
        if (!authenticated) await new Promise((r) => sock.once('connect', r));
        const outcome = drain(sock, 2500);
        sock.write(bytes);
        // truncated frames wait for more bytes: the client hanging up must not leak anything either
        setTimeout(() => sock.end(), 300);
        const o = await outcome;
        errorsSeen += o.errors.length;
        // the proxy's own codes, and PostgreSQL's answers to a well-framed but meaningless message
        // passed through after login: a Bind or Describe of a statement or portal that does not
        // exist (26000, 34000; CI's seed -192079945 sent Bind [0,0] in session mode), a FunctionCall
        // of no function (42883), a malformed binary parameter (22P03)
        for (const e of o.errors) assert.match(e.get('C') ?? '', /^(08P01|54000|0A000|28000|28P01|08006|42601|XX000|57014|26000|34000|42883|22P03)$/, JSON.stringify([...e]));
      }),
      { numRuns: 100 },
    );
  } finally {
    stop = true;
    await loop;
  }
  console.log(`fuzz: 100 bad clients, ${errorsSeen} ErrorResponses; the side client ran ${sideQueries} queries meanwhile`);
  assert.ok(sideQueries > 0);
  assert.deepEqual(errors, [], 'no unexpected (internal) errors in the proxy');
  // a fresh client still logs in and the bad clients are gone
  const fresh = new pg.Client({ host: '127.0.0.1', port: proxy.address('session').port, user: 'app', password, database: server.database });
  await fresh.connect();
  assert.equal((await fresh.query('SELECT 6 AS six')).rows[0].six, 6);
  await fresh.end();
  await side.end();
  await new Promise((r) => setTimeout(r, 100));
  for (const t of proxy.status()) assert.equal(t.clients, 0, `${t.name} has no clients left`);
});

test('regression: a Query followed by the first bytes of another message keeps its server; that server is not reused', async () => {
  // Found by the fuzz test: transaction mode released the server at ReadyForQuery although the
  // client had already sent (and the proxy forwarded) part of its next message.
  const port = proxy.address('tx').port;
  const sock = await rawLogin(port);
  const outcome = drain(sock, 3000);
  sock.write(Buffer.concat([query('SELECT 1'), query('SELECT 2').subarray(0, 3)]));
  await new Promise((r) => setTimeout(r, 300));
  sock.end();
  await outcome;
  for (let i = 0; i < 5; i++) {
    // query_timeout only turns the old failure (a server stuck waiting for the rest of a foreign message) into an error instead of a hang
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password, database: server.database, query_timeout: 10_000 });
    await c.connect();
    assert.equal((await c.query('SELECT $1::int AS n', [i])).rows[0].n, i);
    await c.end();
  }
});
