// UntagResource: removes tags by key (absent keys are ignored); key id or key ARN.
import { keyNotFound, operation, requireNotPendingDeletion } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { checkTagKeys } from '../tags.ts';
import { S, T } from '../../validation/request.ts';
import type { UntagResourceRequest } from '../wire.ts';

export const untagResource = operation<UntagResourceRequest>({
  name: 'UntagResource',
  input: S.struct({ KeyId: T.KeyId, TagKeys: S.list(T.TagKey) }, ['KeyId', 'TagKeys']),
  async run(ctx, req, call) {
    checkTagKeys(req.TagKeys);
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:UntagResource');
    const keyId = key.record.keyId;
    const remove = new Set(req.TagKeys);
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS key states: UntagResource on a key pending deletion -> KMSInvalidStateException.
      requireNotPendingDeletion(rec);
      const kept = rec.tags.filter((t) => !remove.has(t.key));
      if (kept.length === rec.tags.length) return false;
      rec.tags = kept;
      return true;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
