import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ed25519Signer, ed25519Verify, generateEd25519, publicKeyFingerprint, publicKeyFromPem, publicKeyToPem, InvalidSigningKey,
} from './sign.ts';

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUB = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const SIG1 = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
const SEED2 = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const SIG2 = '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';
// DER wrappers for a raw Ed25519 seed (PKCS#8) and public key (SPKI), RFC 8410.
const pkcs8 = (seed: string) => Buffer.from('302e020100300506032b657004220420' + seed, 'hex');
const spki = (pub: string) => Buffer.from('302a300506032b6570032100' + pub, 'hex');

test('Ed25519 matches RFC 8032 test vectors 1 and 2', () => {
  const s1 = ed25519Signer(pkcs8(SEED));
  assert.equal(s1.publicKeySpki.toString('hex'), spki(PUB).toString('hex'));
  assert.equal(s1.sign(Buffer.alloc(0)).toString('hex'), SIG1);
  assert.equal(ed25519Verify(spki(PUB), Buffer.alloc(0), Buffer.from(SIG1, 'hex')), true);
  const s2 = ed25519Signer(pkcs8(SEED2));
  assert.equal(s2.sign(Buffer.from([0x72])).toString('hex'), SIG2);
});

test('verify returns false (never throws) for altered data, altered or short signatures, other keys', () => {
  const s = ed25519Signer(pkcs8(SEED));
  const sig = s.sign('digest');
  assert.equal(ed25519Verify(s.publicKeySpki, 'digest', sig), true);
  assert.equal(ed25519Verify(s.publicKeySpki, 'digesT', sig), false);
  const bad = Buffer.from(sig);
  bad[10] = bad[10]! ^ 1;
  assert.equal(ed25519Verify(s.publicKeySpki, 'digest', bad), false);
  assert.equal(ed25519Verify(s.publicKeySpki, 'digest', sig.subarray(0, 63)), false);
  assert.equal(ed25519Verify(generateEd25519().publicKeySpki, 'digest', sig), false);
});

test('PEM export round-trips, fingerprints are stable, and non-Ed25519 keys are refused', () => {
  const pair = generateEd25519();
  const pem = publicKeyToPem(pair.publicKeySpki);
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
  assert.deepEqual(publicKeyFromPem(pem), pair.publicKeySpki);
  const sig = ed25519Signer(pair.privateKeyPkcs8).sign('x');
  assert.equal(ed25519Verify(pem, 'x', sig), true);
  assert.equal(publicKeyFingerprint(pair.publicKeySpki), publicKeyFingerprint(publicKeyFromPem(pem)));
  assert.match(publicKeyFingerprint(pair.publicKeySpki), /^[0-9a-f]{64}$/);
  assert.throws(() => publicKeyFromPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), { name: 'InvalidSigningKey', message: 'not an Ed25519 public key' });
  assert.throws(() => ed25519Signer(Buffer.from('not a key')), InvalidSigningKey);
});
