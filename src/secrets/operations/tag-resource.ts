// TagResource: add or overwrite tags of a secret (also usable as secretsmanager:ResourceTag/<key> conditions).
import { InvalidParameterException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { operation, requireNotDeleted } from '../context.ts';
import type { Tag } from '../model.ts';
import { M } from '../wire.ts';

/** AWS: at most 50 tags; keys starting with "aws:" are reserved. */
export function checkTags(tags: readonly Tag[]): Tag[] {
  for (const t of tags) {
    if (t.Key === undefined || t.Value === undefined) throw new InvalidParameterException('You must specify both a tag key and a tag value.');
    if (t.Key.toLowerCase().startsWith('aws:')) throw new InvalidParameterException('Invalid tag key. The prefix aws: is reserved for AWS use.');
  }
  return tags.map((t) => ({ Key: t.Key, Value: t.Value }));
}

function merged(old: readonly Tag[], add: readonly Tag[]): Tag[] {
  const m = new Map(old.map((t) => [t.Key, t.Value]));
  for (const t of add) m.set(t.Key, t.Value);
  if (m.size > 50) throw new InvalidParameterException('The number of tags exceeds the limit of 50 per secret.');
  return [...m].map(([Key, Value]) => ({ Key, Value }));
}

export const tagResource = operation<{ SecretId: string; Tags: Tag[] }>({
  name: 'TagResource',
  input: S.struct({ SecretId: M.SecretId, Tags: M.Tags }, ['SecretId', 'Tags']),
  async run(ctx, req, call) {
    const add = checkTags(req.Tags);
    await ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:TagResource', rec);
      // test_secretsmanager.snapshot.json test_tag_untag_resource_on_deleted_secret: InvalidRequestException
      requireNotDeleted(rec);
      const before = structuredClone(rec);
      rec.tags = merged(rec.tags, add);
      if (rec.tags.length > 0) rec.tagged = true;
      await ctx.commit(rec, rec.name, version, before);
    });
    return {};
  },
});
