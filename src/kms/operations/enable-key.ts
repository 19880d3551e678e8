// EnableKey: Disabled -> Enabled (Enabled stays Enabled); key id or key ARN.
import { keyNotFound, operation, requireNotPendingDeletion } from '../context.ts';
import { KeyState } from '../model.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { KeyIdRequest } from '../wire.ts';

export const enableKey = operation<KeyIdRequest>({
  name: 'EnableKey',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:EnableKey');
    const keyId = key.record.keyId;
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS key states: EnableKey on a key pending deletion -> KMSInvalidStateException (cancel the deletion first).
      requireNotPendingDeletion(rec);
      if (rec.state === KeyState.Enabled) return false;
      rec.state = KeyState.Enabled;
      return true;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
