import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GENESIS_HASH } from './chain.ts';
import { type UnsignedDigest, DigestSigner, checkDigestSignature, parsePublicKeyPem, readPublicKey, signingPayload } from './digest.ts';
import { SIGNING_KEY_PATH } from './paths.ts';
import { testBarrier } from './testing.ts';

const unsigned: UnsignedDigest = {
  node: 'n1', fromSeq: 1, toSeq: 10, count: 10, fromPrevHash: GENESIS_HASH, lastHash: 'a'.repeat(64),
  periodStart: '2024-05-01T12:00:00.000Z', periodEnd: '2024-05-01T13:00:00.000Z', previousDigestSignature: null,
};

test('the signing key is created once, behind the barrier, and shared by every loader', async () => {
  const { backend, barrier } = await testBarrier();
  assert.equal(await readPublicKey(barrier), null);
  const signers = await Promise.all(Array.from({ length: 5 }, () => DigestSigner.loadOrCreate(barrier)));
  assert.equal(new Set(signers.map((s) => s.publicKey.fingerprint)).size, 1, 'concurrent first starts agree on one key');
  assert.deepEqual(await readPublicKey(barrier), signers[0]!.publicKey);
  const raw = Buffer.from((await backend.get(SIGNING_KEY_PATH))!.value);
  assert.equal(raw.includes(Buffer.from('PRIVATE')), false);
  assert.equal(raw.includes(Buffer.from('BEGIN PUBLIC KEY')), false, 'stored encrypted');
  assert.deepEqual(parsePublicKeyPem(signers[0]!.publicKey.pem), signers[0]!.publicKey);
});

test('a digest verifies; any changed field, or another key, does not', async () => {
  const signer = await DigestSigner.loadOrCreate((await testBarrier()).barrier);
  const d = signer.sign(unsigned);
  assert.equal(d.version, 1);
  assert.equal(d.publicKeyFingerprint, signer.publicKey.fingerprint);
  assert.equal(checkDigestSignature(d, signer.publicKey), 'ok');
  const changes: Partial<typeof d>[] = [
    { node: 'n2' }, { fromSeq: 2 }, { toSeq: 11 }, { count: 9 }, { fromPrevHash: 'b'.repeat(64) }, { lastHash: 'c'.repeat(64) },
    { periodStart: '2024-05-01T12:00:00.001Z' }, { periodEnd: '2024-05-01T13:00:00.001Z' }, { previousDigestSignature: 'AAAA' },
  ];
  for (const c of changes) assert.equal(checkDigestSignature({ ...d, ...c }, signer.publicKey), 'bad-signature', JSON.stringify(c));
  const other = await DigestSigner.loadOrCreate((await testBarrier()).barrier);
  assert.equal(checkDigestSignature(other.sign(unsigned), signer.publicKey), 'wrong-key');
  assert.equal(checkDigestSignature({ ...other.sign(unsigned), publicKeyFingerprint: signer.publicKey.fingerprint }, signer.publicKey), 'bad-signature');
  assert.equal(checkDigestSignature({ ...d, count: 'x' } as never, signer.publicKey), 'malformed');
  assert.equal(signingPayload(d), 'rekey-audit-digest-v1\n' + JSON.stringify({
    count: 10, fromPrevHash: GENESIS_HASH, fromSeq: 1, lastHash: 'a'.repeat(64), node: 'n1', periodEnd: unsigned.periodEnd,
    periodStart: unsigned.periodStart, previousDigestSignature: null, publicKeyFingerprint: d.publicKeyFingerprint, toSeq: 10, version: 1,
  }));
});
