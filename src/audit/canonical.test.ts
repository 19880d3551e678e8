import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, NotCanonicalizable } from './canonical.ts';

test('canonical JSON sorts keys at every level and has no whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
});

test('undefined members are omitted, so a JSON round trip hashes the same', () => {
  const v = { a: undefined, b: 'é\n"', c: [1.5, -0, 1e21] };
  assert.equal(canonicalJson(v), '{"b":"é\\n\\"","c":[1.5,0,1e+21]}');
  assert.equal(canonicalJson(JSON.parse(JSON.stringify(v))), canonicalJson(v));
});

test('values that would not survive JSON are refused with their path', () => {
  assert.throws(() => canonicalJson({ a: [1, Number.NaN] }), { name: 'NotCanonicalizable', message: 'canonical JSON: non-finite number at $.a[1]' });
  assert.throws(() => canonicalJson({ b: Buffer.from('x') }), NotCanonicalizable);
  assert.throws(() => canonicalJson({ d: new Date() }), NotCanonicalizable);
  assert.throws(() => canonicalJson({ n: 1n }), NotCanonicalizable);
});

test('keys needing escapes are escaped; key order of the input does not matter', () => {
  assert.equal(canonicalJson({ 'a"b': 1, 'a\\b': 2, '\u0001': 3 }), '{"\\u0001":3,"a\\"b":1,"a\\\\b":2}');
  assert.equal(canonicalJson({ z: { b: 1, a: 2 }, a: 0 }), canonicalJson({ a: 0, z: { a: 2, b: 1 } }));
});
