import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import fc from 'fast-check';
import { verifySigV4, verifySigV4Async, verifyPresignedSigV4Async, headersFromRaw, parseAuthorization, type SignedRequest, type Credential } from './sigv4.ts';
import { signRequest } from './sigv4-sign.ts';
import { canonicalPath } from './sigv4-canonical.ts';

interface Suite {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  service: string;
  now: string;
  cases: { name: string; request: string; sessionToken?: string }[];
}
const suite = JSON.parse(readFileSync(new URL('../../test/sigv4-vectors/suite.json', import.meta.url), 'utf8')) as Suite;

/** Parses a test-suite request (request line, "Name:value" headers, blank line, body). */
function parseRaw(text: string): SignedRequest {
  const blank = text.indexOf('\n\n');
  const head = text.slice(0, blank).split('\n');
  const body = text.slice(blank + 2);
  const line = head[0]!;
  const method = line.slice(0, line.indexOf(' '));
  const target = line.slice(method.length + 1, line.lastIndexOf(' HTTP/1.1'));
  const q = target.indexOf('?');
  const raw: string[] = [];
  for (const h of head.slice(1)) {
    const i = h.indexOf(':');
    raw.push(h.slice(0, i), h.slice(i + 1));
  }
  return { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers: headersFromRaw(raw), body: Buffer.from(body) };
}

const NOW = new Date(suite.now);
function opts(cred: Credential) {
  return { region: suite.region, service: suite.service, now: NOW, skewMs: 5 * 60_000, lookup: (id: string) => (id === cred.accessKeyId ? cred : undefined) };
}

describe('AWS SigV4 test suite', () => {
  assert.ok(suite.cases.length >= 30);
  for (const c of suite.cases) {
    const cred: Credential = { ...suite.credentials, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
    test(`verifies ${c.name}`, () => {
      assert.equal(verifySigV4(parseRaw(c.request), opts(cred)), 'AKIDEXAMPLE');
    });
    test(`rejects ${c.name} with a wrong secret`, () => {
      assert.throws(() => verifySigV4(parseRaw(c.request), opts({ ...cred, secretAccessKey: cred.secretAccessKey + 'x' })), { name: 'InvalidSignatureException', message: /^The request signature we calculated does not match/ });
    });
    test(`rejects ${c.name} with a changed signed header value`, () => {
      const req = parseRaw(c.request);
      req.headers = { ...req.headers, host: 'example.amazonaws.org' };
      assert.throws(() => verifySigV4(req, opts(cred)), { name: 'InvalidSignatureException' });
    });
  }
});

test('canonical paths follow the suite (normalized, encoded twice)', () => {
  assert.equal(canonicalPath('/example1/example2/../..'), '/');
  assert.equal(canonicalPath('//example//'), '/example/');
  assert.equal(canonicalPath('/./example'), '/example');
  assert.equal(canonicalPath('/example space/'), '/example%20space/');
  assert.equal(canonicalPath('/a%20b'), '/a%2520b');
});

const CRED: Credential = { accessKeyId: 'AKIAREKEYTEST0000001', secretAccessKey: 'secret/secret+secret' };
const NOW2 = new Date('2024-05-01T10:00:00Z');
const base = { region: 'us-east-1', service: 'kms', now: NOW2, skewMs: 300_000 };

function signed(cred: Credential & { sessionToken?: string }, over: { now?: Date; body?: string; region?: string; service?: string } = {}): SignedRequest {
  const body = over.body ?? '{"KeyId":"alias/x"}';
  const h = signRequest({ method: 'POST', host: 'localhost:8370', path: '/', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' }, body },
    cred, { region: over.region ?? 'us-east-1', service: over.service ?? 'kms', now: over.now ?? NOW2 });
  return { method: 'POST', path: '/', query: '', headers: h, body: Buffer.from(body) };
}

test('our signer agrees with the AWS SDK signer', async () => {
  const sdk = new SignatureV4({ credentials: { ...CRED, sessionToken: 'tok' }, region: 'eu-west-1', service: 'kms', sha256: Sha256 });
  const req = new HttpRequest({ method: 'POST', hostname: 'localhost', port: 8370, path: '/', headers: { host: 'localhost:8370', 'content-type': 'application/x-amz-json-1.1' }, body: '{"a":1}' });
  const s = await sdk.sign(req, { signingDate: NOW2 });
  const headers = headersFromRaw(Object.entries(s.headers).flat());
  const verified = verifySigV4({ method: 'POST', path: '/', query: '', headers, body: Buffer.from('{"a":1}') },
    { ...base, region: 'eu-west-1', lookup: () => ({ ...CRED, sessionToken: 'tok' }) });
  assert.equal(verified, CRED.accessKeyId);
  const ours = signRequest({ method: 'POST', host: 'localhost:8370', path: '/', headers: { 'content-type': 'application/x-amz-json-1.1' }, body: '{"a":1}' }, { ...CRED, sessionToken: 'tok' }, { region: 'eu-west-1', service: 'kms', now: NOW2 });
  assert.equal(ours['authorization'], s.headers['authorization']);
});

test('X-Amz-Date outside the skew: Signature expired / not yet current', () => {
  const old = signed(CRED, { now: new Date(NOW2.getTime() - 5 * 60_000 - 1000) });
  assert.throws(() => verifySigV4(old, { ...base, lookup: () => CRED }), {
    name: 'InvalidSignatureException',
    message: 'Signature expired: 20240501T095459Z is now earlier than 20240501T095500Z (20240501T100000Z - 5 min.)',
  });
  const future = signed(CRED, { now: new Date(NOW2.getTime() + 6 * 60_000) });
  assert.throws(() => verifySigV4(future, { ...base, lookup: () => CRED }), { name: 'InvalidSignatureException', message: /^Signature not yet current: 20240501T100600Z is still later than 20240501T100500Z/ });
  // a configurable skew: 10 minutes accepts what 5 rejects
  assert.equal(verifySigV4(future, { ...base, skewMs: 600_000, lookup: () => CRED }), CRED.accessKeyId);
});

test('unknown access key, wrong scope, tampered body, missing header', () => {
  const req = signed(CRED);
  assert.throws(() => verifySigV4(req, { ...base, lookup: () => undefined }), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  assert.throws(() => verifySigV4(req, { ...base, region: 'eu-west-1', lookup: () => CRED }), { name: 'InvalidSignatureException', message: "Credential should be scoped to a valid region. 'us-east-1' is not 'eu-west-1'." });
  assert.throws(() => verifySigV4(req, { ...base, service: 'sts', lookup: () => CRED }), { name: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'sts'." });
  assert.throws(() => verifySigV4({ ...req, body: Buffer.from('{"KeyId":"alias/y"}') }, { ...base, lookup: () => CRED }), { name: 'InvalidSignatureException', message: "The provided 'x-amz-content-sha256' header does not match what was computed." });
  const { ['x-amz-content-sha256']: _drop, ...noHash } = req.headers as Record<string, string>;
  assert.throws(() => verifySigV4({ ...req, headers: noHash, body: Buffer.from('{"KeyId":"alias/y"}') }, { ...base, lookup: () => CRED }), { name: 'InvalidSignatureException', message: /^The request signature we calculated/ });
  const { authorization: _a, ...noAuth } = req.headers as Record<string, string>;
  assert.throws(() => verifySigV4({ ...req, headers: noAuth }, { ...base, lookup: () => CRED }), { name: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  const { ['x-amz-date']: _d, ...noDate } = req.headers as Record<string, string>;
  assert.throws(() => verifySigV4({ ...req, headers: noDate }, { ...base, lookup: () => CRED }), { name: 'IncompleteSignatureException', message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header." });
  assert.throws(() => verifySigV4({ ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20240501/us-east-1/kms/aws4_request' } }, { ...base, lookup: () => CRED }),
    { name: 'IncompleteSignatureException', message: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256" });
});

test('session tokens: required, must match, expire', async () => {
  const temp: Credential = { accessKeyId: 'ASIAREKEYTEST0000001', secretAccessKey: 's3cr3t', sessionToken: 'token-1', expiresAt: NOW2.getTime() + 60_000 };
  const ok = signed(temp);
  const r = await verifySigV4Async(ok, { ...base, lookup: async () => temp });
  assert.equal(r.credential.accessKeyId, temp.accessKeyId);
  const noToken = signed({ accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey });
  assert.throws(() => verifySigV4(noToken, { ...base, lookup: () => temp }), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  const wrongToken = signed({ ...temp, sessionToken: 'token-2' });
  assert.throws(() => verifySigV4(wrongToken, { ...base, lookup: () => temp }), { name: 'UnrecognizedClientException' });
  const tokenOnLongTerm = signed({ ...CRED, sessionToken: 'token-1' });
  assert.throws(() => verifySigV4(tokenOnLongTerm, { ...base, lookup: () => CRED }), { name: 'UnrecognizedClientException' });
  await assert.rejects(verifySigV4Async(ok, { ...base, now: new Date(NOW2.getTime() + 60_000), lookup: () => temp }), { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
});

test('presigned (query-string) requests signed by the AWS SDK: accepted within X-Amz-Expires, with their session token', async () => {
  const temp: Credential = { accessKeyId: 'ASIAREKEYTEST0000001', secretAccessKey: 's3cr3t/+', sessionToken: 'tok+en/1=' };
  const sdk = new SignatureV4({ credentials: temp, region: 'us-east-1', service: 'sts', sha256: Sha256 });
  const req = new HttpRequest({ method: 'GET', hostname: 'localhost', port: 8370, path: '/', query: { Action: 'GetCallerIdentity', Version: '2011-06-15' }, headers: { host: 'localhost:8370', 'x-custom': 'a  b' } });
  const p = await sdk.presign(req, { signingDate: NOW2, expiresIn: 60 });
  const query = Object.entries(p.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v as string)}`).join('&');
  const signedReq: SignedRequest = { method: 'GET', path: '/', query, headers: { host: 'localhost:8370', 'x-custom': 'a  b' }, body: new Uint8Array() };
  const opts = { ...base, service: 'sts', maxExpiresS: 604800, lookup: () => temp };
  const at = (ms: number) => ({ ...opts, now: new Date(NOW2.getTime() + ms) });
  assert.equal((await verifyPresignedSigV4Async(signedReq, at(59_000))).auth.accessKeyId, temp.accessKeyId);
  assert.deepEqual((await verifyPresignedSigV4Async(signedReq, at(0))).auth.signedHeaders, ['host', 'x-custom']);
  await assert.rejects(verifyPresignedSigV4Async(signedReq, at(61_000)), { name: 'InvalidSignatureException', message: 'Signature expired: 20240501T100000Z is now earlier than 20240501T100001Z (20240501T100101Z - 1 min.)' });
  await assert.rejects(verifyPresignedSigV4Async(signedReq, { ...opts, maxExpiresS: 30 }), { name: 'InvalidSignatureException', message: 'X-Amz-Expires must be between 1 and 30 seconds.' });
  await assert.rejects(verifyPresignedSigV4Async({ ...signedReq, headers: { host: 'localhost:8370', 'x-custom': 'a b c' } }, opts), { name: 'InvalidSignatureException', message: /^The request signature we calculated/ });
  await assert.rejects(verifyPresignedSigV4Async({ ...signedReq, query: query.replace('GetCallerIdentity', 'AssumeRole') }, opts), { name: 'InvalidSignatureException', message: /^The request signature we calculated/ });
  await assert.rejects(verifyPresignedSigV4Async({ ...signedReq, query: query.replace(/X-Amz-Security-Token=[^&]+/, 'X-Amz-Security-Token=other') }, opts), { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  await assert.rejects(verifyPresignedSigV4Async({ ...signedReq, query: query.replace(/&X-Amz-Date=[^&]+/, '') }, opts), { name: 'IncompleteSignatureException', message: /^AWS query-string parameters must include 'X-Amz-Algorithm'/ });
  // a header-signed verifier does not accept the query form (no Authorization header)
  await assert.rejects(verifySigV4Async(signedReq, opts), { name: 'MissingAuthenticationTokenException' });
});

// Issue 17, item 3: a signature that does not cover X-Amz-Target (or Content-Type) replays as
// another operation. The attack: the body {KeyId, Plaintext} signed with
// SignedHeaders=content-type;host;x-amz-date, re-sent with X-Amz-Target: TrentService.DisableKey.
test('X-Amz-Target and Content-Type must be signed: a captured signature does not replay as another operation', () => {
  const body = '{"KeyId":"alias/x","Plaintext":"AAAA"}';
  const h = signRequest({ method: 'POST', host: 'localhost:8370', path: '/', headers: { 'content-type': 'application/x-amz-json-1.1' }, body }, CRED, { region: 'us-east-1', service: 'kms', now: NOW2 });
  const replay: SignedRequest = { method: 'POST', path: '/', query: '', headers: { ...h, 'x-amz-target': 'TrentService.DisableKey' }, body: Buffer.from(body) };
  assert.throws(() => verifySigV4(replay, { ...base, lookup: () => CRED }), { name: 'InvalidSignatureException', message: "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization." });
  // the target signed but not the content type
  const h2 = signRequest({ method: 'POST', host: 'localhost:8370', path: '/', headers: { 'x-amz-target': 'TrentService.Encrypt' }, body }, CRED, { region: 'us-east-1', service: 'kms', now: NOW2 });
  const retyped: SignedRequest = { method: 'POST', path: '/', query: '', headers: { ...h2, 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from(body) };
  assert.throws(() => verifySigV4(retyped, { ...base, lookup: () => CRED }), { name: 'InvalidSignatureException', message: "'Content-Type' must be a 'SignedHeader' in the AWS Authorization." });
  // both signed: accepted
  assert.equal(verifySigV4(signed(CRED), { ...base, lookup: () => CRED }), CRED.accessKeyId);
});

// The Authorization parser as it was written first (split on ',', a Map, the last value of a
// repeated parameter wins): the scanning parser must agree with it on every header, well-formed
// or not, in what it returns and in the error it throws.
function referenceParse(value: string): { accessKeyId: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string } {
  if (!value.startsWith('AWS4-HMAC-SHA256 ')) throw new Error('IncompleteSignatureException: unsupported');
  const params = new Map<string, string>();
  for (const part of value.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) params.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((k) => !params.get(k));
  if (missing.length > 0) throw new Error('IncompleteSignatureException: ' + missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') + ` Authorization=${value.split(' ')[0]}`);
  const cred = params.get('Credential')!.split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request' || !cred[0]) throw new Error("IncompleteSignatureException: Credential should be scoped to correct service: 'aws4_request'.");
  return { accessKeyId: cred[0], date: cred[1]!, region: cred[2]!, service: cred[3]!, signedHeaders: params.get('SignedHeaders')!.split(';'), signature: params.get('Signature')! };
}

test('parseAuthorization agrees with the split-and-Map reference on generated headers', () => {
  const piece = fc.constantFrom('Credential', 'SignedHeaders', 'Signature', 'Other', ' Credential', 'Signature ', '', '=', ',', ' ', '/', 'aws4_request', 'AKIA1', '20240501', 'us-east-1', 'kms', ';', 'host', 'x-amz-date', 'abc123', '\t');
  const header = fc.array(piece, { maxLength: 24 }).map((parts) => 'AWS4-HMAC-SHA256 ' + parts.join(''));
  const wellFormed = fc.record({
    id: fc.constantFrom('AKIA1', '', 'A/B'), scope: fc.constantFrom('20240501/us-east-1/kms/aws4_request', '20240501/us-east-1/kms/aws4_requestx', '20240501//kms/aws4_request', '20240501/us-east-1/kms/x/aws4_request'),
    sh: fc.constantFrom('host;x-amz-date', '', 'host'), sig: fc.constantFrom('ab12', '', ' ab12 '), order: fc.boolean(), repeat: fc.boolean(),
  }).map((r) => {
    const parts = [`Credential=${r.id}/${r.scope}`, `SignedHeaders=${r.sh}`, `Signature=${r.sig}`];
    if (r.order) parts.reverse();
    if (r.repeat) parts.push('Signature=');
    return 'AWS4-HMAC-SHA256 ' + parts.join(', ');
  });
  const outcome = (f: () => unknown): unknown => {
    try {
      const a = f() as Record<string, unknown>;
      return { accessKeyId: a.accessKeyId, date: a.date, region: a.region, service: a.service, signedHeaders: a.signedHeaders, signature: a.signature };
    } catch (e) {
      return (e as Error).name === 'Error' ? (e as Error).message : `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  fc.assert(fc.property(fc.oneof(header, wellFormed), (value) => {
    const got = outcome(() => parseAuthorization(value));
    const want = outcome(() => referenceParse(value));
    if (typeof want === 'string' && want.endsWith('unsupported')) return;
    assert.deepEqual(got, want, value);
  }), { numRuns: 3000 });
});
