// UpdateKeyDescription: replaces the description; Enabled or Disabled keys; key id or key ARN.
import { keyNotFound, operation, requireNotPendingDeletion } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { UpdateKeyDescriptionRequest } from '../wire.ts';

export const updateKeyDescription = operation<UpdateKeyDescriptionRequest>({
  name: 'UpdateKeyDescription',
  input: S.struct({ KeyId: T.KeyId, Description: T.Description }, ['KeyId', 'Description']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:UpdateKeyDescription');
    const keyId = key.record.keyId;
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS key states: UpdateKeyDescription on a key pending deletion -> KMSInvalidStateException.
      requireNotPendingDeletion(rec);
      rec.description = req.Description;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
