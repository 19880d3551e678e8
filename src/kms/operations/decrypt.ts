// Decrypt: the key is read from the ciphertext; KeyId is optional and, when given, must match.
import { zeroize } from '../../crypto/index.ts';
import { DryRunOperationException } from '../../errors.ts';
import { operation } from '../context.ts';
import { checkAlgorithm, ciphertextOrDryRun, decryptBlob, rejectRecipient } from '../envelope.ts';
import type { LoadedKey } from '../keystore.ts';
import { requestAliasOf } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { DecryptRequest } from '../wire.ts';
import { DRY_RUN_MESSAGE } from './encrypt.ts';

export const decrypt = operation<DecryptRequest>({
  name: 'Decrypt',
  input: S.struct({
    CiphertextBlob: T.Ciphertext,
    EncryptionContext: T.EncryptionContext,
    GrantTokens: T.GrantTokens,
    KeyId: T.KeyId,
    EncryptionAlgorithm: T.EncryptionAlgorithm,
    Recipient: T.Recipient,
    DryRun: T.Boolean,
    DryRunModifiers: T.DryRunModifiers,
  }),

  async run(ctx, req, call) {
    rejectRecipient(req.Recipient);
    checkAlgorithm(req.EncryptionAlgorithm);
    const authorize = (key: LoadedKey) => call.authz.key(key, 'kms:Decrypt', { encryptionContext: req.EncryptionContext, requestAlias: requestAliasOf(req.KeyId), grantTokens: req.GrantTokens });
    const blob = await ciphertextOrDryRun(ctx, req, 'keyId', req.KeyId, authorize);
    if (blob === null) throw new DryRunOperationException(DRY_RUN_MESSAGE);
    const { key, plaintext, materialId } = await decryptBlob(ctx, blob, req.EncryptionContext, req.KeyId, authorize);
    try {
      if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
      // AWS KMS: KeyId is "the Amazon Resource Name (key ARN) of the KMS key that was used to decrypt
      // the ciphertext" (the AWS Encryption SDK requires it to equal the ARN it asked for);
      // KeyMaterialId is "the identifier of the key material used to decrypt the ciphertext".
      return { KeyId: key.record.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: materialId };
    } finally {
      zeroize(plaintext);
    }
  },
});
