// TagResource: adds or replaces tags on a key (Enabled or Disabled); key id or key ARN.
import { keyNotFound, operation, requireNotPendingDeletion } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { checkNewTags, mergeTags } from '../tags.ts';
import { S, T, TagList } from '../../validation/request.ts';
import type { TagResourceRequest } from '../wire.ts';

export const tagResource = operation<TagResourceRequest>({
  name: 'TagResource',
  input: S.struct({ KeyId: T.KeyId, Tags: TagList }, ['KeyId', 'Tags']),
  async run(ctx, req, call) {
    const add = checkNewTags(req.Tags);
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:TagResource');
    const keyId = key.record.keyId;
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS key states: TagResource on a key pending deletion -> KMSInvalidStateException.
      requireNotPendingDeletion(rec);
      rec.tags = mergeTags(rec.tags, add);
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
