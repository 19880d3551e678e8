// The raw lane (src/http/raw-lane.ts): canonical AWS JSON calls are served without fastify, and a
// client cannot tell — the same status, headers and body as the fastify path for the same call,
// successes and errors alike; every other request shape still goes to fastify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { RawLane } from '../src/http/raw-lane.ts';
import { rawLaneOf } from '../src/http/app.ts';
import type { Protocol, PipelineDeps } from '../src/http/pipeline.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const AWS_JSON = 'application/x-amz-json-1.1';
// the fastify path: the same protocol (AWS JSON accepts any content type the Query protocol does not)
const VIA_FASTIFY = { 'content-type': `${AWS_JSON}; charset=utf-8` };

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.cleanup(); });

function lane(limit = 1024): RawLane {
  return new RawLane({ bodyLimitBytes: limit, protocol: {} as Protocol, deps: {} as PipelineDeps, log: { error: () => {} } });
}

function req(method: string, url: string, headers: Record<string, string>): IncomingMessage {
  return { method, url, headers } as unknown as IncomingMessage;
}

test('the lane takes only POST / with the exact AWS JSON content type and a Content-Length within the limit', () => {
  const l = lane(1024);
  const ok = { 'content-type': AWS_JSON, 'content-length': '10' };
  assert.equal(l.takes(req('POST', '/', ok)), true);
  assert.equal(l.takes(req('POST', '/', { ...ok, 'content-length': '1024' })), true);
  assert.equal(l.takes(req('POST', '/', { ...ok, 'content-length': '0' })), true);
  const refused: [string, string, Record<string, string>][] = [
    ['GET', '/', ok],
    ['POST', '/?x=1', ok],
    ['POST', '/v1/keys', ok],
    ['POST', '/', { ...ok, 'content-length': '1025' }],
    ['POST', '/', { 'content-type': AWS_JSON }],
    ['POST', '/', { ...ok, 'transfer-encoding': 'chunked' }],
    ['POST', '/', { ...ok, 'content-type': `${AWS_JSON}; charset=utf-8` }],
    ['POST', '/', { ...ok, 'content-type': 'application/x-www-form-urlencoded' }],
    ['POST', '/', { ...ok, 'content-length': '1e3' }],
    ['POST', '/', { ...ok, 'content-length': '9999999999999' }],
  ];
  for (const [m, u, h] of refused) assert.equal(l.takes(req(m, u, h)), false, `${m} ${u} ${JSON.stringify(h)}`);
  l.close();
  assert.equal(l.takes(req('POST', '/', ok)), false, 'a closing server answers through fastify (503)');
});

/** What a client sees of an answer, with the request id and date taken out. */
function seen(r: { status: number; headers: Headers; text: string }): { status: number; headers: string[]; body: unknown } {
  const headers = [...r.headers.entries()].filter(([k]) => k !== 'date').map(([k, v]) => `${k}: ${k === 'x-amzn-requestid' ? '<id>' : k === 'content-length' ? '<n>' : v}`).sort();
  const body = JSON.parse(r.text) as Record<string, unknown>;
  for (const k of ['CiphertextBlob']) if (k in body) body[k] = '<bytes>';
  return { status: r.status, headers, body };
}

test('the lane and the fastify path answer alike: successes, protocol errors, refused signatures', async () => {
  const key = (await s.raw('TrentService.CreateKey', '{}')).json.KeyMetadata.KeyId as string;
  const calls: [string | undefined, string, Record<string, string>?][] = [
    ['TrentService.ListKeys', '{"Limit": 1}'],
    ['TrentService.Encrypt', JSON.stringify({ KeyId: key, Plaintext: Buffer.from('hello').toString('base64') })],
    ['TrentService.DescribeKey', '{'],
    ['TrentService.Nope', '{}'],
    [undefined, '{}'],
    ['TrentService.DescribeKey', '{"KeyId": "alias/none"}'],
    ['TrentService.GenerateRandom', '{"NumberOfBytes": 5000}'],
    ['secretsmanager.GetSecretValue', '{"SecretId": "missing"}'],
    ['TrentService.ListKeys', '{}', { 'x-amz-date': '20000101T000000Z' }],
  ];
  const lane = rawLaneOf(s.app)!;
  for (const [target, body, extra] of calls) {
    const before = lane.served;
    const viaLane = await s.raw(target, body, { headers: { ...extra } });
    assert.equal(lane.served, before + 1, `${target}: the canonical request went through the lane`);
    const viaFastify = await s.raw(target, body, { headers: { ...extra, ...VIA_FASTIFY } });
    assert.equal(lane.served, before + 1, `${target}: the charset variant went through fastify`);
    const a = seen(viaLane);
    const b = seen(viaFastify);
    // the content type echoed is the protocol's own, whatever the request sent
    assert.deepEqual(a, b, `${target} ${body}`);
    assert.ok(viaLane.headers.get('x-amzn-requestid'), 'every answer names its request id');
  }
  const unsigned = await s.raw('TrentService.ListKeys', '{}', { sign: false });
  const unsignedFastify = await s.raw('TrentService.ListKeys', '{}', { sign: false, headers: VIA_FASTIFY });
  assert.deepEqual(seen(unsigned), seen(unsignedFastify));
  assert.equal(unsigned.status, 403, unsigned.text);
});

test('a client that sends part of its body and hangs up does not disturb the server', { timeout: 30_000 }, async () => {
  const u = new URL(s.url);
  await new Promise<void>((resolve) => {
    const c = connect(Number(u.port), u.hostname, () => {
      c.write(`POST / HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${AWS_JSON}\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 100\r\n\r\n{"Li`);
      c.destroy();
      resolve();
    });
  });
  // a pipelined unsigned pair on one connection: both answered (refused), in order
  const answers = await new Promise<string>((resolve, reject) => {
    let got = '';
    const c = connect(Number(u.port), u.hostname, () => {
      const one = `POST / HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${AWS_JSON}\r\nX-Amz-Target: TrentService.Nope\r\nContent-Length: 2\r\n\r\n{}`;
      c.write(one + one);
    });
    c.on('data', (d) => {
      got += d.toString();
      if ((got.match(/MissingAuthenticationTokenException"/g) ?? []).length === 2) {
        c.destroy();
        resolve(got);
      }
    });
    c.on('error', reject);
  });
  assert.equal((answers.match(/HTTP\/1\.1 403 Forbidden\r\n/g) ?? []).length, 2);
  const r = await s.raw('TrentService.ListKeys', '{}');
  assert.equal(r.status, 200, r.text);
});
