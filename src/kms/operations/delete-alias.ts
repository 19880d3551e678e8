// DeleteAlias: removes an alias (any key state); the key itself is unaffected.
import { aliasNotFound, operation } from '../context.ts';
import { aliasArn, checkAliasNameForWrite } from '../ids.ts';
import type { Write } from '../keystore.ts';
import { S, T } from '../../validation/request.ts';
import type { DeleteAliasRequest } from '../wire.ts';

export const deleteAlias = operation<DeleteAliasRequest>({
  name: 'DeleteAlias',
  input: S.struct({ AliasName: T.AliasName }, ['AliasName']),
  async run(ctx, req, call) {
    checkAliasNameForWrite(req.AliasName);
    // AWS KMS: DeleteAlias needs kms:DeleteAlias on the alias (IAM policy) and on its key (key policy).
    call.authz.alias('kms:DeleteAlias', aliasArn(ctx, req.AliasName));
    const current = await ctx.store.readAlias(req.AliasName);
    if (!current) throw aliasNotFound(ctx, req.AliasName);
    const key = await ctx.store.getKey(current.value.targetKeyId);
    if (key) await call.authz.key(key, 'kms:DeleteAlias');
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
