// The config file (REKEY_CONFIG or `rekey server --config`): partial blocks keep the defaults of
// the fields they leave out, and the examples the docs print load as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaults, loadConfig, mergeConfig } from './config.ts';

const ROOT = { REKEY_ROOT_KEY: 'a'.repeat(64) };

function fileWith(json: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'rekey-cfg-')), 'rekey.json');
  writeFileSync(p, json);
  return p;
}

test('a partial block keeps the defaults of the fields it leaves out; arrays and scalars replace', () => {
  const c = loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith('{"tls":{"mode":"generated","sans":["db.internal"]},"http":{"bodyLimitBytes":1024}}') });
  assert.equal(c.tls.mode, 'generated');
  assert.deepEqual(c.tls.sans, ['db.internal']);
  assert.equal(c.tls.certLifetimeSeconds, defaults().tls.certLifetimeSeconds);
  assert.equal(c.http.bodyLimitBytes, 1024);
  assert.equal(c.http.headersTimeoutMs, defaults().http.headersTimeoutMs);
  assert.deepEqual(mergeConfig({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] }, d: null }), { a: { b: 1, c: [3] }, d: null });
});

test('bad values in a partial block are still refused by name', () => {
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith('{"tls":{"mode":"sometimes"}}') }),
    { name: 'ConfigurationError', message: /\/tls\/mode must be equal to one of the allowed values/ });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith('{"__proto__":{"dev":true}}') }), { name: 'ConfigurationError' });
});

test("docs/PROXY.md's TLS example loads as printed", () => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'PROXY.md'), 'utf8');
  const tlsSection = doc.slice(doc.indexOf('\n## TLS'));
  const example = /```json\n([\s\S]*?)```/.exec(tlsSection)?.[1];
  assert.ok(example, 'the TLS section has a JSON example');
  const c = loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith(example) });
  assert.equal(c.tls.mode, 'generated');
  assert.equal(c.proxy?.targets[0]?.name, 'app');
});

test('the compliance block: any field, checked (docs/COMPLIANCE.md "Settings")', () => {
  const c = loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith('{"compliance":{"cryptoperiodDays":180}}') });
  assert.deepEqual(c.compliance, { cryptoperiodDays: 180 });
  assert.equal(loadConfig({ dataDir: '/tmp/x' }, { ...ROOT }).compliance, undefined);
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith('{"compliance":{"cryptoperiodDays":0}}') }), { name: 'ConfigurationError' });
  assert.throws(() => loadConfig({ dataDir: '/tmp/x' }, { ...ROOT, REKEY_CONFIG: fileWith('{"compliance":{"cryptoPeriod":365}}') }), { name: 'ConfigurationError' });
});
