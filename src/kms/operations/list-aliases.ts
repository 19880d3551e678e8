// ListAliases: the account's aliases in name order, or only those of one key (KeyId), paginated.
import { needs } from '../../errors.ts';
import { keyNotFound, operation } from '../context.ts';
import { aliasArn } from '../ids.ts';
import { wireDate } from '../model.ts';
import { decodeMarker, pageSize, pageSorted, pageTail } from '../pagination.ts';
import { resolveKeyId } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { AliasListEntry, ListAliasesRequest } from '../wire.ts';

export const listAliases = operation<ListAliasesRequest>({
  name: 'ListAliases',
  input: S.struct({ KeyId: T.KeyId, Limit: T.Limit, Marker: T.Marker }),
  async run(ctx, req, call) {
    // AWS KMS: kms:ListAliases (IAM policy, resource "*"), with or without KeyId.
    call.authz.account('kms:ListAliases');
    // AWS KMS: Limit "must be between 1 and 100, inclusive. If you do not include a value, it defaults to 50."
    const limit = pageSize(req.Limit, 50, 100);
    let names: string[];
    let truncated: boolean;
    let listing = 'ListAliases';
    if (req.KeyId !== undefined) {
      const keyId = await resolveKeyId(ctx, req.KeyId, 'key');
      const key = await ctx.store.readKey(keyId);
      if (!key) throw keyNotFound(ctx, keyId);
      listing = `ListAliases:${keyId}`;
      const after = decodeMarker(listing, req.Marker);
      const page = pageSorted(key.value.aliases, (a) => a, after, limit);
      names = page.items;
      truncated = page.truncated;
    } else {
      const after = decodeMarker(listing, req.Marker);
      const all = await ctx.store.listAliasNames(after, limit + 1);
      names = all.slice(0, limit);
      truncated = all.length > limit;
    }
    const aliases: AliasListEntry[] = [];
    for (const name of names) {
      const a = await ctx.store.readAlias(name);
      if (!a) continue; // deleted between the listing and this read
      needs(a.value.v === 1, `unexpected alias record for ${name}`);
      aliases.push({
        AliasName: a.value.aliasName,
        AliasArn: aliasArn(ctx, a.value.aliasName),
        TargetKeyId: a.value.targetKeyId,
        CreationDate: wireDate(a.value.creationDate),
        LastUpdatedDate: wireDate(a.value.lastUpdatedDate),
      });
    }
    return { Aliases: aliases, ...pageTail(listing, truncated, names[names.length - 1]) };
  },
});
