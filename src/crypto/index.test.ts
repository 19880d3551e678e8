import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seal, open, hkdf, constantTimeEqual, zeroize, AuthenticationFailed, randomBytes, scrypt } from './index.ts';

test('seal/open round trip and AAD binding', () => {
  const key = randomBytes(32);
  const s = seal(key, Buffer.from('hello'), Buffer.from('aad'));
  assert.equal(open(key, s.iv, s.ciphertext, s.tag, Buffer.from('aad')).toString(), 'hello');
  assert.throws(() => open(key, s.iv, s.ciphertext, s.tag, Buffer.from('aae')), AuthenticationFailed);
  const bad = Buffer.from(s.ciphertext);
  bad[0] = bad[0]! ^ 1;
  assert.throws(() => open(key, s.iv, bad, s.tag, Buffer.from('aad')), AuthenticationFailed);
  assert.throws(() => open(randomBytes(32), s.iv, s.ciphertext, s.tag, Buffer.from('aad')), AuthenticationFailed);
});

test('AES-256-GCM matches a known vector (NIST GCM test case 16 key with zero IV/PT)', () => {
  // Key and IV all zero, empty AAD, 16 zero bytes of plaintext: ciphertext cea7403d4d606b6e074ec5d3baf39d18
  const s = seal(Buffer.alloc(32), Buffer.alloc(16), Buffer.alloc(0), Buffer.alloc(12));
  assert.equal(s.ciphertext.toString('hex'), 'cea7403d4d606b6e074ec5d3baf39d18');
  assert.equal(s.tag.toString('hex'), 'd0d1c8a799996bf0265b98b5d48ab919');
});

test('HKDF-SHA256 RFC 5869 test case 1', () => {
  const ikm = Buffer.alloc(22, 0x0b);
  const salt = Buffer.from('000102030405060708090a0b0c', 'hex');
  const info = Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex');
  assert.equal(hkdf(ikm, salt, info, 42).toString('hex'),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
});

test('constantTimeEqual and zeroize', () => {
  assert.equal(constantTimeEqual(Buffer.from('abc'), Buffer.from('abc')), true);
  assert.equal(constantTimeEqual(Buffer.from('abc'), Buffer.from('abd')), false);
  assert.equal(constantTimeEqual(Buffer.from('abc'), Buffer.from('abcd')), false);
  const b = Buffer.from('secret');
  zeroize(b);
  assert.deepEqual([...b], [0, 0, 0, 0, 0, 0]);
});

test('scrypt is deterministic for a salt and differs per salt', () => {
  const p = { N: 1024, r: 8, p: 1 };
  const a = scrypt('pass', Buffer.from('salt1'), p);
  assert.equal(a.length, 32);
  assert.deepEqual(a, scrypt('pass', Buffer.from('salt1'), p));
  assert.notDeepEqual(a, scrypt('pass', Buffer.from('salt2'), p));
});
