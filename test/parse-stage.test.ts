// The pipeline's parse stage against hostile input (issue 17, items 6, 8 and 12): operation names
// that are Object.prototype members, JSON nested 10,000 deep, and parser-level errors (bad URL,
// over-long path parameter, malformed HTTP, body over the limit) answered in each protocol's own
// error shape, never fastify's {"error":"Bad Request"}. Every refused call is audited: those that
// reached the pipeline under their service, those refused before routing as rekey.http
// RefusedRequest events (src/http/refused.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { signRequest } from '../src/iam/sigv4-sign.ts';

const LIMIT = 524_288; // http.bodyLimitBytes' default (src/config/config.ts)
let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.cleanup(); });

/** The RefusedRequest events (src/http/refused.ts), after the store sink's group commit. */
async function refusedEvents(): Promise<{ errorCode?: string; requestID: string; eventSource: string; sourceIPAddress: string; requestParameters: Record<string, unknown> | null }[]> {
  await s.audit.settled();
  const r = await s.audit.lookup({ eventName: 'RefusedRequest', maxResults: 50 });
  return r.events.map((e) => e.event as unknown as { errorCode?: string; requestID: string; eventSource: string; sourceIPAddress: string; requestParameters: Record<string, unknown> | null });
}

async function alive(): Promise<void> {
  const r = await s.raw('TrentService.ListKeys', '{}');
  assert.equal(r.status, 200, r.text);
}

async function lookup(eventName: string): Promise<{ errorCode?: string; requestID: string }[]> {
  const r = await s.audit.lookup({ eventName, maxResults: 50 });
  return r.events.map((e) => e.event as unknown as { errorCode?: string; requestID: string });
}

test('X-Amz-Target naming Object.prototype members: 400 UnknownOperationException, audited, never 500', async () => {
  const targets = [
    'TrentService.constructor', 'TrentService.__proto__', 'TrentService.toString', 'TrentService.valueOf', 'TrentService.hasOwnProperty',
    'secretsmanager.hasOwnProperty', 'secretsmanager.constructor', 'secretsmanager.__defineGetter__', 'constructor.Encrypt', '__proto__.Encrypt',
  ];
  const ids: string[] = [];
  for (const t of targets) {
    const r = await s.raw(t, '{}');
    assert.equal(r.status, 400, `${t}: ${r.text}`);
    assert.equal(r.json.__type, 'UnknownOperationException', t);
    assert.match(r.json.message, /^Unknown operation /, t);
    ids.push(r.headers.get('x-amzn-requestid')!);
  }
  // every refusal is an audit event: named by the operation under a known service, as
  // UnknownOperation under the service the credential scope names when the prefix is unknown
  const events = (await s.audit.lookup({ maxResults: 50 })).events.map((e) => e.event);
  for (const [i, id] of ids.entries()) {
    const e = events.find((x) => x.requestID === id);
    assert.equal(e?.errorCode, 'UnknownOperationException', `${targets[i]} audited`);
  }
  for (const t of ['constructor.Encrypt', '__proto__.Encrypt']) {
    const e = events.find((x) => x.requestID === ids[targets.indexOf(t)]);
    assert.deepEqual([e?.eventSource, e?.eventName], ['kms.amazonaws.com', 'UnknownOperation'], t);
  }
  await alive();
});

test('JSON nested 10,000 deep: 400 SerializationException at parse time, audited', async () => {
  const deep = '{"Tags":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}';
  for (const target of ['TrentService.CreateKey', 'TrentService.Encrypt', 'secretsmanager.CreateSecret']) {
    const started = Date.now();
    const r = await s.raw(target, deep);
    assert.equal(r.status, 400, `${target}: ${r.text}`);
    assert.deepEqual(r.json, { __type: 'SerializationException', message: 'The request body is nested deeper than 32 levels.' });
    assert.ok(Date.now() - started < 2000);
  }
  const objects = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
  const r = await s.raw('TrentService.DescribeKey', objects);
  assert.equal(r.json.__type, 'SerializationException');
  // brackets inside strings do not count
  const ok = await s.raw('TrentService.CreateKey', JSON.stringify({ Description: '[{'.repeat(200) }));
  assert.equal(ok.status, 200, ok.text);
  const events = (await lookup('CreateKey')).filter((e) => e.errorCode === 'SerializationException');
  assert.ok(events.length >= 1, 'the refused CreateKey calls are audited');
  await alive();
});

test('parser-level errors use the AWS JSON error shape, not fastify\'s', async () => {
  // body over the limit
  const big = await s.raw('TrentService.CreateKey', JSON.stringify({ Description: 'x'.repeat(LIMIT + 10) }));
  assert.equal(big.status, 413);
  assert.deepEqual(big.json, { __type: 'RequestEntityTooLargeException', message: `Request body exceeds the maximum of ${LIMIT} bytes.` });
  assert.equal(big.headers.get('x-amzn-errortype'), 'RequestEntityTooLargeException');

  // malformed HTTP on a raw socket
  const raw = await new Promise<string>((resolve) => {
    let got = '';
    const sock = connect(s.port, '127.0.0.1', () => sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}'));
    sock.on('data', (d) => (got += d.toString()));
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
  });
  assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(raw, /\r\n\r\n\{"__type":"SerializationException","message":"The HTTP request could not be parsed\."\}$/);
  assert.doesNotMatch(raw, /"error":"Bad Request"/);
  // both refusals are audited before routing: the oversized body under its request id, the
  // malformed request (no id was ever given) by its error and source address
  const events = await refusedEvents();
  const tooBig = events.find((e) => e.requestID === big.headers.get('x-amzn-requestid'));
  assert.deepEqual([tooBig?.eventSource, tooBig?.errorCode, tooBig?.requestParameters], ['rekey.http', 'RequestEntityTooLargeException', { method: 'POST', path: '/' }]);
  const malformed = events.filter((e) => e.errorCode === 'SerializationException' && e.requestParameters === null);
  assert.equal(malformed.length, 1);
  assert.match(malformed[0]!.sourceIPAddress, /127\.0\.0\.1/);
  await alive();
});

test('parser-level errors on /v1 use the admin error shape (400 bad URL, 414 long path parameter, 404)', async () => {
  const badUrl = await fetch(`${s.url}/v1/jobs/%E0%A4%A`);
  assert.equal(badUrl.status, 400);
  const b1 = (await badUrl.json()) as Record<string, string>;
  assert.deepEqual([b1['error'], b1['message']], ['SerializationException', 'The request URL is not valid.']);
  assert.ok(b1['requestId']);

  const long = await fetch(`${s.url}/v1/jobs/${'a'.repeat(200)}`);
  assert.equal(long.status, 414);
  const b2 = (await long.json()) as Record<string, string>;
  assert.deepEqual([b2['error'], b2['message']], ['RequestUriTooLongException', 'A path parameter of the request URL is too long.']);

  const none = await fetch(`${s.url}/v1/nothing-here?token=hidden`);
  assert.equal(none.status, 404);
  const b3 = (await none.json()) as Record<string, string>;
  assert.equal(b3['error'], 'RouteNotFoundException');

  // each is audited (refused before routing); the query string is never recorded
  const events = await refusedEvents();
  const of = (id: string | undefined) => events.find((e) => e.requestID === id);
  assert.equal(of(b1['requestId'])?.errorCode, 'SerializationException');
  assert.equal(of(b2['requestId'])?.errorCode, 'RequestUriTooLongException');
  assert.deepEqual([of(b3['requestId'])?.errorCode, of(b3['requestId'])?.requestParameters], ['RouteNotFoundException', { method: 'GET', path: '/v1/nothing-here' }]);
  assert.doesNotMatch(JSON.stringify(events), /hidden/);
});

test('Query protocol: parser-level errors come back as XML ErrorResponse', async () => {
  const body = 'Action=GetCallerIdentity&Version=2011-06-15&Pad=' + 'x'.repeat(LIMIT);
  const host = new URL(s.url).host;
  const headers = signRequest({ method: 'POST', host, path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body }, TEST_CREDS, { region: 'us-east-1', service: 'sts', now: new Date() });
  const r = await fetch(`${s.url}/`, { method: 'POST', headers, body });
  assert.equal(r.status, 413);
  assert.match(r.headers.get('content-type') ?? '', /^text\/xml/);
  assert.match(await r.text(), /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>RequestEntityTooLargeException<\/Code><Message>Request body exceeds the maximum of \d+ bytes\.<\/Message><\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>$/);

  // Action=constructor is just an unknown action
  const form = 'Action=constructor&Version=2011-06-15';
  const h2 = signRequest({ method: 'POST', host, path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: form }, TEST_CREDS, { region: 'us-east-1', service: 'sts', now: new Date() });
  const r2 = await fetch(`${s.url}/`, { method: 'POST', headers: h2, body: form });
  assert.equal(r2.status, 400);
  assert.match(await r2.text(), /<Code>InvalidAction<\/Code><Message>Could not find operation constructor for version 2011-06-15<\/Message>/);
  await alive();
});
