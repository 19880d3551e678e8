import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdf, randomBytes } from '../crypto/index.ts';
import {
  CIPHERTEXT_OVERHEAD, HEADER_BYTES, INVALID_CIPHERTEXT_MESSAGE, canonicalContext, deriveKey, openCiphertext, parseCiphertext, sealCiphertext,
} from './ciphertext.ts';
import { uuidToBytes } from './ids.ts';

const keyId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const material = randomBytes(32);
const materialId = randomBytes(32);

function seal(plaintext: Buffer, ctx?: Record<string, string>): Buffer {
  return sealCiphertext({ keyIdBytes: uuidToBytes(keyId), materialIdBytes: materialId, material, plaintext, context: canonicalContext(ctx) });
}

function open(blob: Buffer, ctx?: Record<string, string>): Buffer {
  return openCiphertext(parseCiphertext(blob), material, canonicalContext(ctx));
}

function assertInvalid(f: () => unknown): void {
  assert.throws(f, (e: Error) => e.name === 'InvalidCiphertextException' && e.message === INVALID_CIPHERTEXT_MESSAGE);
}

test('layout: version, key id, material id, salt, IV, ciphertext, tag', () => {
  const blob = seal(Buffer.from('abc'));
  assert.equal(HEADER_BYTES, 77);
  assert.equal(blob.length, 3 + CIPHERTEXT_OVERHEAD);
  assert.equal(blob[0], 1);
  const p = parseCiphertext(blob);
  assert.equal(p.keyId, keyId);
  assert.equal(p.materialId, materialId.toString('hex'));
  assert.equal(p.salt.length, 16);
  assert.equal(p.iv.length, 12);
  assert.equal(p.body.length, 3);
  assert.equal(p.tag.length, 16);
  assert.equal(open(blob).toString(), 'abc');
});

test('the per-request key is HKDF-SHA256(material, salt, "rekey-kms-v1" || key id || material id)', () => {
  const salt = randomBytes(16);
  const info = Buffer.concat([Buffer.from('rekey-kms-v1'), uuidToBytes(keyId), materialId]);
  assert.deepEqual(deriveKey(material, salt, uuidToBytes(keyId), materialId), hkdf(material, salt, info, 32));
});

test('salts and IVs are fresh for every message', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const p = parseCiphertext(seal(Buffer.from('same')));
    seen.add(p.salt.toString('hex'));
    seen.add(p.iv.toString('hex'));
  }
  assert.equal(seen.size, 1000);
});

test('canonical context: sorted by UTF-8 key bytes, length-prefixed, empty = no bytes', () => {
  assert.equal(canonicalContext(undefined).length, 0);
  assert.equal(canonicalContext({}).length, 0);
  assert.deepEqual(canonicalContext({ b: '2', a: '1' }), canonicalContext({ a: '1', b: '2' }));
  assert.deepEqual(canonicalContext({ a: 'bc' }), Buffer.from('00000001' + '61' + '00000002' + '6263', 'hex'));
  // Length prefixes keep ("ab","c") and ("a","bc") apart.
  assert.notDeepEqual(canonicalContext({ ab: 'c' }), canonicalContext({ a: 'bc' }));
  // Byte order, not UTF-16 order: U+FF5E (ef bd 9e) sorts before U+1F600 (f0 9f 98 80).
  const c = canonicalContext({ '\u{1F600}': 'x', '\uFF5E': 'y' });
  assert.equal(c.subarray(4, 7).toString('hex'), 'efbd9e');
});

test('every failure is the same InvalidCiphertextException', () => {
  const blob = seal(Buffer.from('secret'), { k: 'v' });
  for (let i = 0; i < blob.length; i++) {
    const t = Buffer.from(blob);
    t[i]! ^= 0x40;
    // A changed key id still parses (it names another key); the tag check catches everything else.
    assertInvalid(() => open(t, { k: 'v' }));
  }
  assertInvalid(() => open(blob, {}));
  assertInvalid(() => open(blob, { k: 'v', x: '' }));
  assertInvalid(() => parseCiphertext(Buffer.alloc(CIPHERTEXT_OVERHEAD, 1)));
  assertInvalid(() => parseCiphertext(Buffer.concat([Buffer.from([2]), blob.subarray(1)])));
  assertInvalid(() => openCiphertext(parseCiphertext(blob), randomBytes(32), canonicalContext({ k: 'v' })));
});
