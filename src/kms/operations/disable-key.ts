// DisableKey: Enabled -> Disabled (Disabled stays Disabled); key id or key ARN.
import { keyNotFound, operation, requireNotPendingDeletion } from '../context.ts';
import { KeyState } from '../model.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { KeyIdRequest } from '../wire.ts';

export const disableKey = operation<KeyIdRequest>({
  name: 'DisableKey',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:DisableKey');
    const keyId = key.record.keyId;
    const dependents = await ctx.lifecycle?.dependentsOf(keyId);
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS: "You cannot enable or disable AWS managed keys"; rekey: nor a key its resources use.
      ctx.lifecycle?.guard(rec, 'DisableKey', dependents);
      // AWS KMS key states: DisableKey on a key pending deletion -> KMSInvalidStateException.
      requireNotPendingDeletion(rec);
      if (rec.state === KeyState.Disabled) return false;
      rec.state = KeyState.Disabled;
      return true;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
