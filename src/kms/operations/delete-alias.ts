// DeleteAlias: removes an alias (any key state); the key itself is unaffected.
import { aliasNotFound, operation } from '../context.ts';
import { checkAliasNameForWrite } from '../ids.ts';
import type { Write } from '../keystore.ts';
import { S, T } from '../validate.ts';
import type { DeleteAliasRequest } from '../wire.ts';

export const deleteAlias = operation<DeleteAliasRequest>({
  name: 'DeleteAlias',
  input: S.struct({ AliasName: T.AliasName }, ['AliasName']),
  async run(ctx, req) {
    checkAliasNameForWrite(req.AliasName);
    await ctx.store.retry(async () => {
      const alias = await ctx.store.readAlias(req.AliasName);
      if (!alias) throw aliasNotFound(ctx, req.AliasName);
      const writes: Write[] = [{ type: 'deleteAlias', name: req.AliasName, expectVersion: alias.version }];
      const key = await ctx.store.readKey(alias.value.targetKeyId);
      if (key) {
        key.value.aliases = key.value.aliases.filter((a) => a !== req.AliasName);
        writes.push({ type: 'key', rec: key.value, expectVersion: key.version });
      }
      await ctx.store.commit(writes);
    });
    return {};
  },
});
