// CreateAlias: a new alias name for a key; the alias entry and the key's alias list are written in
// one transaction, each with compare-and-swap.
import { AlreadyExistsException, ValidationException } from '../../errors.ts';
import { keyNotFound, nowMs, operation, requireNotPendingDeletion } from '../context.ts';
import { aliasArn, checkAliasNameForWrite } from '../ids.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { CreateAliasRequest } from '../wire.ts';

/** AWS KMS: an alias must point to a key, given by key id or key ARN. */
export function checkTargetIsKey(target: string): void {
  if (target.startsWith('alias/') || /^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(target)) {
    throw new ValidationException('Aliases must refer to keys. Not aliases');
  }
}

export const createAlias = operation<CreateAliasRequest>({
  name: 'CreateAlias',
  input: S.struct({ AliasName: T.AliasName, TargetKeyId: T.KeyId }, ['AliasName', 'TargetKeyId']),
  async run(ctx, req, call) {
    checkAliasNameForWrite(req.AliasName);
    checkTargetIsKey(req.TargetKeyId);
    // AWS KMS: CreateAlias needs kms:CreateAlias on the alias (IAM policy) and on the key (key policy).
    call.authz.alias('kms:CreateAlias', aliasArn(ctx, req.AliasName));
    const target = await resolveKey(ctx, req.TargetKeyId, 'key');
    await call.authz.key(target, 'kms:CreateAlias');
    const keyId = target.record.keyId;
    await ctx.store.retry(async () => {
      const existing = await ctx.store.readAlias(req.AliasName);
      // AWS KMS names the alias ARN: "An alias with the name arn:aws:kms:...:alias/x already exists"
      if (existing) throw new AlreadyExistsException(`An alias with the name ${aliasArn(ctx, req.AliasName)} already exists`);
      const key = await ctx.store.readKey(keyId);
      if (!key) throw keyNotFound(ctx, keyId);
      // AWS KMS key states: CreateAlias on a key pending deletion -> KMSInvalidStateException.
      requireNotPendingDeletion(key.value);
      ctx.lifecycle?.guard(key.value, 'CreateAlias'); // aliases of AWS managed keys are alias/aws/<service> only
      const now = nowMs(ctx);
      key.value.aliases = [...key.value.aliases, req.AliasName].sort();
      await ctx.store.commit([
        { type: 'alias', rec: { v: 1, aliasName: req.AliasName, targetKeyId: keyId, creationDate: now, lastUpdatedDate: now }, expectVersion: 0 },
        { type: 'key', rec: key.value, expectVersion: key.version },
      ]);
    });
    return {};
  },
});
