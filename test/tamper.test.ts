// Tampering through the real server: flipping any single byte of a ciphertext blob, or adding,
// removing or changing any encryption-context pair, gives InvalidCiphertextException with one
// fixed message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { INVALID_CIPHERTEXT_MESSAGE } from '../src/kms/ciphertext.ts';

let s: TestServer;
let kms: K.KMSClient;
before(async () => { s = await startTestServer(); kms = s.kmsClient(); });
after(async () => { await s.cleanup(); });

async function expectInvalid(blob: Uint8Array, context: Record<string, string> | undefined, what: string): Promise<void> {
  await assert.rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: blob, ...(context ? { EncryptionContext: context } : {}) })), (e: any) => {
    assert.equal(e.name, 'InvalidCiphertextException', `${what}: ${e.name} ${e.message}`);
    assert.equal(e.message, INVALID_CIPHERTEXT_MESSAGE, what);
    return true;
  });
}

test('every single-byte flip of a blob is rejected with the same error and message', async () => {
  const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  const context = { app: 'billing', table: 'cards' };
  const blob = Buffer.from((await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('4111-1111-1111-1111'), EncryptionContext: context }))).CiphertextBlob!);
  assert.ok(blob.length > 60);
  for (let i = 0; i < blob.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const t = Buffer.from(blob);
      t[i] = t[i]! ^ mask;
      await expectInvalid(t, context, `byte ${i} ^ ${mask}`);
    }
  }
  await expectInvalid(blob.subarray(0, blob.length - 1), context, 'truncated');
  await expectInvalid(Buffer.concat([blob, Buffer.from([0])]), context, 'extended');
  // the untampered blob still decrypts
  const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context }));
  assert.equal(Buffer.from(d.Plaintext!).toString(), '4111-1111-1111-1111');
});

test('adding, removing or changing any encryption-context pair is rejected identically', async () => {
  const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
  const context = { a: '1', b: '2', c: '3' };
  const blob = (await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: context }))).CiphertextBlob!;
  const variants: [string, Record<string, string> | undefined][] = [
    ['none', undefined],
    ['empty', {}],
    ['added', { ...context, d: '4' }],
    ['removed a', { b: '2', c: '3' }],
    ['removed c', { a: '1', b: '2' }],
    ['changed value', { ...context, b: '22' }],
    ['changed key', { a: '1', bb: '2', c: '3' }],
    ['case', { A: '1', b: '2', c: '3' }],
    ['swapped values', { a: '2', b: '1', c: '3' }],
  ];
  for (const [what, ctx] of variants) await expectInvalid(blob, ctx, what);
  // order of pairs does not matter (canonical form)
  await kms.send(new K.DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { c: '3', a: '1', b: '2' } }));
});
