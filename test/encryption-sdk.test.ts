// The AWS Encryption SDK for JavaScript (KmsKeyringNode) pointed at rekey: envelope encryption
// works, and a message made before RotateKeyOnDemand still decrypts after it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KMS, CreateKeyCommand, RotateKeyOnDemandCommand, CreateAliasCommand } from '@aws-sdk/client-kms';
import { buildClient, CommitmentPolicy, KmsKeyringNode, getClient } from '@aws-crypto/client-node';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.cleanup(); });

test('AWS Encryption SDK encrypts and decrypts through rekey, across a key rotation', async () => {
  const kms = s.kmsClient();
  const key = (await kms.send(new CreateKeyCommand({ Description: 'esdk' }))).KeyMetadata!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/esdk', TargetKeyId: key.KeyId }));
  const clientProvider = getClient(KMS, { endpoint: s.url, credentials: TEST_CREDS, region: 'us-east-1' });
  const keyring = new KmsKeyringNode({ generatorKeyId: key.Arn!, clientProvider });
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const context = { stage: 'test', purpose: 'rotation' };
  const plaintext = Buffer.from('customer record #42: the quick brown fox');

  const before = await encrypt(keyring, plaintext, { encryptionContext: context });
  assert.ok(!before.result.includes(plaintext));
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
  const after = await encrypt(keyring, plaintext, { encryptionContext: context });

  for (const msg of [before.result, after.result]) {
    const { plaintext: out, messageHeader } = await decrypt(keyring, msg);
    assert.deepEqual(out, plaintext);
    assert.equal(messageHeader.encryptionContext.stage, 'test');
  }
  // a keyring naming the key by alias can encrypt (AWS allows an alias as generator)
  const byAlias = new KmsKeyringNode({ generatorKeyId: 'alias/esdk', clientProvider });
  const m = await encrypt(byAlias, plaintext);
  // decryption requires the keyring's key ARN to match Decrypt's KeyId, which rekey returns as the ARN
  assert.deepEqual((await decrypt(keyring, m.result)).plaintext, plaintext);
});
