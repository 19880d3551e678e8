import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { registerConsole } from './console.ts';

async function app() {
  const a = Fastify();
  registerConsole(a, { region: 'eu-west-3' });
  await a.ready();
  return a;
}

test('GET /console: the page names the signing region and its hashed assets; strict security headers; no-store', async () => {
  const a = await app();
  const res = await a.inject({ method: 'GET', url: '/console' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(res.body, /<meta name="rekey-region" content="eu-west-3">/);
  const v = /app\.js\?v=([0-9a-f]{16})/.exec(res.body)?.[1];
  assert.ok(v, 'the bundle is referenced under its content hash');
  assert.match(res.body, new RegExp(`app\\.css\\?v=${v}`));
  assert.equal(res.headers['cache-control'], 'no-store');
  const csp = String(res.headers['content-security-policy']);
  for (const d of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), d);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.equal((await a.inject({ method: 'GET', url: '/console/' })).body, res.body);
  await a.close();
});

test('GET /console/app.js: one bundle with the libraries inside (no import from elsewhere), cached immutably; the same build serves every request', async () => {
  const a = await app();
  const js = await a.inject({ method: 'GET', url: '/console/app.js' });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  assert.match(String(js.headers['cache-control']), /immutable/);
  // bundled: no bare or remote module specifier is left for the browser to fetch
  assert.doesNotMatch(js.body, /\bfrom\s*["']/);
  assert.doesNotMatch(js.body, /\bimport\s*\(/);
  assert.match(js.body, /"TrentService"/, 'the console makes its own KMS calls');
  assert.match(js.body, /x-amz-target/);
  assert.match(js.body, /AWS4-HMAC-SHA256/, 'with SigV4 (aws4fetch)');
  const again = await a.inject({ method: 'GET', url: '/console/app.js' });
  assert.equal(again.body, js.body);
  assert.equal(js.headers['content-encoding'], undefined, 'plain for a client that accepts no encoding');
  const gz = await a.inject({ method: 'GET', url: '/console/app.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers['vary'], 'accept-encoding');
  assert.equal(gunzipSync(gz.rawPayload).toString(), js.body);
  assert.ok(gz.rawPayload.length < js.body.length / 2, `gzip: ${gz.rawPayload.length} of ${js.body.length} bytes`);
  const css = await a.inject({ method: 'GET', url: '/console/app.css' });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
  await a.close();
});

test('the region is escaped into the page', async () => {
  const a = Fastify();
  registerConsole(a, { region: '"><script>x</script>' });
  const res = await a.inject({ method: 'GET', url: '/console' });
  assert.doesNotMatch(res.body, /<script>x/);
  assert.match(res.body, /content="&#34;&#62;&#60;script&#62;x/);
  await a.close();
});
