// Encrypt: up to 4096 bytes under a symmetric key's current material.
import { zeroize } from '../../crypto/index.ts';
import { DryRunOperationException } from '../../errors.ts';
import { operation, requireEnabled } from '../context.ts';
import { checkAlgorithm, encryptWith } from '../envelope.ts';
import { requestAliasOf, resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { EncryptRequest } from '../wire.ts';

export const DRY_RUN_MESSAGE = 'The request would have succeeded, but the DryRun option is set.';

export const encrypt = operation<EncryptRequest>({
  name: 'Encrypt',
  input: S.struct({
    KeyId: T.KeyId,
    Plaintext: T.Plaintext,
    EncryptionContext: T.EncryptionContext,
    GrantTokens: T.GrantTokens,
    EncryptionAlgorithm: T.EncryptionAlgorithm,
    DryRun: T.Boolean,
  }, ['KeyId', 'Plaintext']),

  async run(ctx, req, call) {
    try {
      const key = await resolveKey(ctx, req.KeyId, 'any');
      await call.authz.key(key, 'kms:Encrypt', { encryptionContext: req.EncryptionContext, requestAlias: requestAliasOf(req.KeyId), grantTokens: req.GrantTokens });
      requireEnabled(key.record);
      checkAlgorithm(req.EncryptionAlgorithm);
      if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
      const { blob } = encryptWith(key, req.Plaintext, req.EncryptionContext);
      ctx.lifecycle?.recordUse(key.record, req.Plaintext.length); // usage budgets (src/kms/lifecycle/usage.ts)
      // AWS KMS: the response's KeyId is the key ARN, whatever form the request used.
      return { CiphertextBlob: blob.toString('base64'), KeyId: key.record.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    } finally {
      zeroize(req.Plaintext);
    }
  },
});
