// Tampering through the real server: flipping any single byte of a ciphertext blob, or adding,
// removing or changing any encryption-context pair, gives InvalidCiphertextException with one
// fixed message: AWS's empty one, which the JavaScript SDK reports as "UnknownError"
// (LocalStack tests/aws/services/kms/test_kms.snapshot.json, test_encrypt_decrypt_encryption_context).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { INVALID_CIPHERTEXT_MESSAGE } from '../src/kms/ciphertext.ts';
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { setDiagnosticsSink, type DiagnosticLine } from '../src/diagnostics.ts';
import { keyPath } from '../src/kms/keystore.ts';
import { secretPath } from '../src/secrets/model.ts';

let s: TestServer;
let kms: K.KMSClient;
before(async () => { s = await startTestServer(); kms = s.kmsClient(); });
after(async () => { await s.cleanup(); });

async function expectInvalid(blob: Uint8Array, context: Record<string, string> | undefined, what: string): Promise<void> {
  await assert.rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: blob, ...(context ? { EncryptionContext: context } : {}) })), (e: any) => {
    assert.equal(e.name, 'InvalidCiphertextException', `${what}: ${e.name} ${e.message}`);
    assert.equal(e.message, INVALID_CIPHERTEXT_MESSAGE || 'UnknownError', what);
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

// Issue 17, item 10: an internal error converted to KMSInternalException / InternalServiceError was
// not logged with its cause, and a tampered key or secret row left no log line. Now both leave a
// line (src/diagnostics.ts) naming the path and the request id, without secret material.
test('a tampered key row and a tampered secret row: internal error to the client, a tamper line and the cause with the request id in the log', async () => {
  const lines: DiagnosticLine[] = [];
  const restore = setDiagnosticsSink((l) => lines.push(l));
  try {
    const flip = async (path: string) => {
      const e = (await s.backend.get(path))!;
      const bytes = Buffer.from(e.value);
      bytes[bytes.length - 1]! ^= 0x01;
      await s.backend.put(path, bytes);
    };
    const sm = s.secretsClient();
    const SECRET = 'canary-secret-value-7f3a';
    await sm.send(new CreateSecretCommand({ Name: 'tampered/one', SecretString: SECRET }));
    await flip(secretPath('tampered/one'));
    const err = await sm.send(new GetSecretValueCommand({ SecretId: 'tampered/one' })).then(() => undefined, (e: { name: string; message: string; $metadata: { requestId?: string } }) => e);
    assert.equal(err?.name, 'InternalServiceError');
    assert.equal(err?.message, 'An internal error occurred.');
    const tamper = lines.find((l) => l.kind === 'tamper' && l.path === secretPath('tampered/one'));
    assert.ok(tamper, `no tamper line: ${JSON.stringify(lines)}`);
    assert.equal(tamper.msg, `storage: stored value at ${secretPath('tampered/one')} failed authentication (tampered, moved or wrong keyring)`);
    const internal = lines.find((l) => l.kind === 'internal-error' && l.requestId === err?.$metadata.requestId);
    assert.ok(internal, `no internal-error line for ${err?.$metadata.requestId}: ${JSON.stringify(lines)}`);
    assert.equal(internal.msg, 'secretsmanager GetSecretValue: unexpected error (the client saw an internal error)');
    assert.equal(internal.err?.type, 'BarrierValueError');

    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    s.kms.store.invalidateKey(key.KeyId!);
    await flip(keyPath(key.KeyId!));
    s.kms.store.invalidateKey(key.KeyId!);
    const kerr = await kms.send(new K.DescribeKeyCommand({ KeyId: key.KeyId })).then(() => undefined, (e: { name: string; $metadata: { requestId?: string } }) => e);
    assert.equal(kerr?.name, 'KMSInternalException');
    assert.ok(lines.some((l) => l.kind === 'tamper' && l.path === keyPath(key.KeyId!)));
    const kline = lines.find((l) => l.kind === 'internal-error' && l.requestId === kerr?.$metadata.requestId);
    assert.equal(kline?.msg, 'kms DescribeKey: unexpected error (the client saw an internal error)');
    assert.ok(!JSON.stringify(lines).includes(SECRET), 'secret material in the log');
  } finally {
    restore();
  }
});
