// UntagResource: remove tags from a secret.
import { S } from '../../validation/request.ts';
import { operation, requireNotDeleted } from '../context.ts';
import { M } from '../wire.ts';

export const untagResource = operation<{ SecretId: string; TagKeys: string[] }>({
  name: 'UntagResource',
  input: S.struct({ SecretId: M.SecretId, TagKeys: M.TagKeys }, ['SecretId', 'TagKeys']),
  async run(ctx, req, call) {
    await ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:UntagResource', rec);
      // test_secretsmanager.snapshot.json test_tag_untag_resource_on_deleted_secret: InvalidRequestException
      requireNotDeleted(rec);
      const before = structuredClone(rec);
      rec.tags = rec.tags.filter((t) => !req.TagKeys.includes(t.Key));
      await ctx.commit(rec, rec.name, version, before);
    });
    return {};
  },
});
