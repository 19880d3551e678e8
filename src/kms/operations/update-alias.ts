// UpdateAlias: points an existing alias at another key (the alias name only; never an alias ARN).
import { keyNotFound, aliasNotFound, nowMs, operation, requireNotPendingDeletion } from '../context.ts';
import { aliasArn, checkAliasNameForWrite } from '../ids.ts';
import type { Write } from '../keystore.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { UpdateAliasRequest } from '../wire.ts';
import { checkTargetIsKey } from './create-alias.ts';

export const updateAlias = operation<UpdateAliasRequest>({
  name: 'UpdateAlias',
  input: S.struct({ AliasName: T.AliasName, TargetKeyId: T.KeyId }, ['AliasName', 'TargetKeyId']),
  async run(ctx, req, call) {
    checkAliasNameForWrite(req.AliasName);
    checkTargetIsKey(req.TargetKeyId);
    // AWS KMS: UpdateAlias needs kms:UpdateAlias on the alias (IAM policy), on the key it points to
    // now and on the new key (their key policies).
    call.authz.alias('kms:UpdateAlias', aliasArn(ctx, req.AliasName));
    const current = await ctx.store.readAlias(req.AliasName);
    if (!current) throw aliasNotFound(ctx, req.AliasName);
    const old = await ctx.store.getKey(current.value.targetKeyId);
    if (old) await call.authz.key(old, 'kms:UpdateAlias');
    const next = await resolveKey(ctx, req.TargetKeyId, 'key');
    await call.authz.key(next, 'kms:UpdateAlias');
    const newKeyId = next.record.keyId;
    await ctx.store.retry(async () => {
      const alias = await ctx.store.readAlias(req.AliasName);
      if (!alias) throw aliasNotFound(ctx, req.AliasName);
      const target = await ctx.store.readKey(newKeyId);
      if (!target) throw keyNotFound(ctx, newKeyId);
      // AWS KMS key states: "If the source KMS key is pending deletion, the command succeeds. If the
      // destination KMS key is pending deletion, the command fails with KMSInvalidStateException."
      requireNotPendingDeletion(target.value);
      ctx.lifecycle?.guard(target.value, 'UpdateAlias'); // a customer alias cannot point at an AWS managed key
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
