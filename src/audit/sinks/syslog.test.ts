import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainEvents, EMPTY_HEAD } from '../chain.ts';
import { sampleEvent, syslogServer } from '../testing.ts';
import { SyslogSink, frameSyslog } from './syslog.ts';

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('RFC 5424 framing: octet count, PRI, version, header fields, JSON message', () => {
  const frame = frameSyslog({ facility: 13, severity: 6, time: new Date('2024-05-01T12:00:00.000Z'), hostname: 'db host', appName: 'rekey', procId: '42', msgId: 'audit', msg: '{"a":"é"}' });
  const text = frame.toString('utf8');
  const sp = text.indexOf(' ');
  const body = '<110>1 2024-05-01T12:00:00.000Z dbhost rekey 42 audit - {"a":"é"}';
  assert.equal(text.slice(sp + 1), body);
  assert.equal(Number(text.slice(0, sp)), Buffer.byteLength(body)); // octets, not characters
});

test('syslog sink delivers each record as one framed message to a TCP receiver', async () => {
  const srv = await syslogServer();
  const sink = new SyslogSink({ host: '127.0.0.1', port: srv.port, hostname: 'node-a' });
  const { records, lines } = chainEvents('n1', EMPTY_HEAD, [sampleEvent(1), sampleEvent(2)]);
  await sink.write({ node: 'n1', records, lines });
  await until(() => srv.messages.length === 2);
  const m = /^<(\d+)>1 (\S+) node-a rekey (\d+) audit - (.*)$/s.exec(srv.messages[0]!);
  assert.ok(m, srv.messages[0]);
  assert.equal(m[1], String(13 * 8 + 6));
  assert.equal(m[3], String(process.pid));
  assert.deepEqual(JSON.parse(m[4]!), records[0]);
  await sink.close();
  await srv.close();
});

test('syslog sink queues while the receiver is away and reconnects', async () => {
  const srv = await syslogServer();
  const errors: Error[] = [];
  const sink = new SyslogSink({ host: '127.0.0.1', port: srv.port, reconnectMinMs: 20, reconnectMaxMs: 100, onError: (e) => errors.push(e) });
  const { records, lines } = chainEvents('n1', EMPTY_HEAD, [sampleEvent(1), sampleEvent(2), sampleEvent(3)]);
  await sink.write({ node: 'n1', records: records.slice(0, 1), lines: lines.slice(0, 1) });
  await until(() => srv.messages.length === 1);
  for (const s of srv.sockets) s.destroy(); // the receiver drops the connection
  await new Promise((r) => setTimeout(r, 50));
  await sink.write({ node: 'n1', records: records.slice(1), lines: lines.slice(1) });
  await until(() => srv.messages.length === 3);
  assert.equal(srv.sockets.length, 2, 'a second connection was made');
  assert.deepEqual(srv.messages.slice(1).map((m) => (JSON.parse(m.slice(m.indexOf(' - ') + 3)) as { seq: number }).seq), [2, 3]);
  await sink.close();
  await srv.close();
});

test('a syslog sink whose receiver is down never blocks a write, and drops the oldest past maxQueue', async () => {
  const srv = await syslogServer();
  const port = srv.port;
  await srv.close();
  const sink = new SyslogSink({ host: '127.0.0.1', port, maxQueue: 2, reconnectMinMs: 10_000 });
  const { records, lines } = chainEvents('n1', EMPTY_HEAD, [sampleEvent(1), sampleEvent(2), sampleEvent(3)]);
  await sink.write({ node: 'n1', records, lines }); // resolves at once
  assert.equal(sink.dropped, 1);
  assert.equal(sink.durable, false);
  await sink.close();
});
