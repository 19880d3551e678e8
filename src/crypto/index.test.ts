import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seal, open, hkdf, constantTimeEqual, zeroize, AuthenticationFailed, randomBytes, scrypt, hmacSha256, hmacSha256Hex, sha256, sha256Hex } from './index.ts';

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

test('hmacSha256Hex: RFC 4231 test cases 1, 2, 3, 4, 6 and 7', () => {
  const cases: [Buffer, Buffer, string][] = [
    [Buffer.alloc(20, 0x0b), Buffer.from('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    [Buffer.alloc(20, 0xaa), Buffer.alloc(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    [Buffer.from('0102030405060708090a0b0c0d0e0f10111213141516171819', 'hex'), Buffer.alloc(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    // a key longer than the block (131 bytes) is hashed first: the createHmac path
    [Buffer.alloc(131, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    [Buffer.alloc(131, 0xaa), Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
  ];
  for (const [key, data, mac] of cases) {
    // the vectors' data as latin1 text: bytes >= 0x80 would be UTF-8 encoded, so compare through hmacSha256 for those
    if (data.every((b) => b < 0x80)) assert.equal(hmacSha256Hex(key, data.toString('latin1')), mac);
    assert.equal(hmacSha256(key, data).toString('hex'), mac);
  }
});

test('hmacSha256Hex equals createHmac-based hmacSha256 for key and message lengths around the block size, UTF-8 text included', () => {
  for (const keyLen of [0, 1, 31, 32, 33, 63, 64, 65]) {
    for (const msgLen of [0, 1, 55, 56, 63, 64, 65, 200, 1100, 70000]) {
      const key = randomBytes(keyLen);
      const msg = randomBytes(msgLen).toString('base64').slice(0, msgLen) + (msgLen % 2 ? 'é€😀' : '');
      assert.equal(hmacSha256Hex(key, msg), hmacSha256(key, msg).toString('hex'), `key ${keyLen}, message ${msgLen}`);
    }
  }
});

test('sha256Hex equals sha256 for strings and bytes', () => {
  for (const v of ['', 'abc', 'é€😀', Buffer.alloc(0), randomBytes(1500)]) assert.equal(sha256Hex(v), sha256(v).toString('hex'));
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
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
