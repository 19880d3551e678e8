// UpdateAlias: points an existing alias at another key (the alias name only; never an alias ARN).
import { keyNotFound, aliasNotFound, nowMs, operation, requireNotPendingDeletion } from '../context.ts';
import { checkAliasNameForWrite } from '../ids.ts';
import type { Write } from '../keystore.ts';
import { resolveKeyId } from '../resolve.ts';
import { S, T } from '../validate.ts';
import type { UpdateAliasRequest } from '../wire.ts';
import { checkTargetIsKey } from './create-alias.ts';

export const updateAlias = operation<UpdateAliasRequest>({
  name: 'UpdateAlias',
  input: S.struct({ AliasName: T.AliasName, TargetKeyId: T.KeyId }, ['AliasName', 'TargetKeyId']),
  async run(ctx, req) {
    checkAliasNameForWrite(req.AliasName);
    checkTargetIsKey(req.TargetKeyId);
    const newKeyId = await resolveKeyId(ctx, req.TargetKeyId, 'key');
    await ctx.store.retry(async () => {
      const alias = await ctx.store.readAlias(req.AliasName);
      if (!alias) throw aliasNotFound(ctx, req.AliasName);
      const target = await ctx.store.readKey(newKeyId);
      if (!target) throw keyNotFound(ctx, newKeyId);
      // AWS KMS key states: "If the source KMS key is pending deletion, the command succeeds. If the
      // destination KMS key is pending deletion, the command fails with KMSInvalidStateException."
      requireNotPendingDeletion(target.value);
      const oldKeyId = alias.value.targetKeyId;
      const writes: Write[] = [{ type: 'alias', rec: { ...alias.value, targetKeyId: newKeyId, lastUpdatedDate: nowMs(ctx) }, expectVersion: alias.version }];
      if (oldKeyId !== newKeyId) {
        target.value.aliases = [...target.value.aliases.filter((a) => a !== req.AliasName), req.AliasName].sort();
        writes.push({ type: 'key', rec: target.value, expectVersion: target.version });
        const old = await ctx.store.readKey(oldKeyId);
        if (old) {
          old.value.aliases = old.value.aliases.filter((a) => a !== req.AliasName);
          writes.push({ type: 'key', rec: old.value, expectVersion: old.version });
        }
      }
      await ctx.store.commit(writes);
    });
    return {};
  },
});
