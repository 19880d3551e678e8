import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hotp, totp, matchTotp, base32Encode, base32Decode, timeStep } from './totp.ts';

// RFC 6238 Appendix B test vectors (8 digits; seeds are the ASCII strings below).
const SEED1 = Buffer.from('12345678901234567890');
const SEED256 = Buffer.from('12345678901234567890123456789012');
const SEED512 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234');
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

test('RFC 6238 Appendix B vectors (SHA-1, SHA-256, SHA-512)', () => {
  for (const [t, sha1, sha256, sha512] of VECTORS) {
    assert.equal(totp(SEED1, t, 8, 'sha1'), sha1, `SHA1 at ${t}`);
    assert.equal(totp(SEED256, t, 8, 'sha256'), sha256, `SHA256 at ${t}`);
    assert.equal(totp(SEED512, t, 8, 'sha512'), sha512, `SHA512 at ${t}`);
  }
});

test('RFC 4226 Appendix D HOTP vectors', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  expected.forEach((code, counter) => assert.equal(hotp(SEED1, counter), code));
});

test('base32 round trip and the RFC 4648 vector', () => {
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.deepEqual(base32Decode('MZXW6YTBOI'), Buffer.from('foobar'));
  assert.deepEqual(base32Decode(base32Encode(SEED1)), SEED1);
});

test('codes are accepted one step either side of now, never twice, never an older step', () => {
  const now = 1_700_000_000;
  const s = timeStep(now);
  assert.equal(matchTotp(SEED1, hotp(SEED1, s), now, 0), s);
  assert.equal(matchTotp(SEED1, hotp(SEED1, s - 1), now, 0), s - 1);
  assert.equal(matchTotp(SEED1, hotp(SEED1, s + 1), now, 0), s + 1);
  assert.equal(matchTotp(SEED1, hotp(SEED1, s - 2), now, 0), undefined);
  assert.equal(matchTotp(SEED1, hotp(SEED1, s + 2), now, 0), undefined);
  assert.equal(matchTotp(SEED1, hotp(SEED1, s), now, s), undefined, 'already used');
  assert.equal(matchTotp(SEED1, hotp(SEED1, s - 1), now, s), undefined, 'older than the last used');
  assert.equal(matchTotp(SEED1, '12345', now, 0), undefined);
});
