// Key identifiers: key id, key ARN, alias name, alias ARN, each accepted exactly where AWS KMS
// accepts it. Management operations take "the key ID or key ARN of the KMS key"; the cryptographic
// operations and DescribeKey also take an alias name or alias ARN.
import { NotFoundException } from '../errors.ts';
import { aliasNotFound, invalidKeyId, keyNotFound, type KmsContext } from './context.ts';
import { isKeyIdFormat, looksLikeAliasName, parseKmsArn } from './ids.ts';
import type { LoadedKey } from './keystore.ts';

/** 'key': key id or key ARN only. 'any': also alias name and alias ARN. */
export type IdForms = 'key' | 'any';

/** Resolves an identifier to a key id (following an alias). Does not check that the key exists. */
export async function resolveKeyId(ctx: KmsContext, ident: string, forms: IdForms): Promise<string> {
  let keyId = ident;
  if (ident.startsWith('arn:')) {
    const arn = parseKmsArn(ident);
    if (!arn || (arn.type === 'alias' && forms === 'key')) throw invalidKeyId(ident);
    // AWS KMS answers a key ARN from another Region with NotFoundException "Invalid arn <region>".
    if (arn.region !== ctx.region || arn.partition !== ctx.partition) throw new NotFoundException(`Invalid arn ${arn.region}`);
    // Only one account lives here: a key or alias in another account does not exist for this caller.
    if (arn.accountId !== ctx.accountId) throw arn.type === 'alias' ? aliasNotFound(ctx, ident) : keyNotFound(ctx, ident);
    if (arn.type === 'alias') return aliasToKeyId(ctx, arn.id);
    keyId = arn.id;
  } else if (ident.startsWith('alias/')) {
    if (forms === 'key') throw invalidKeyId(ident);
    return aliasToKeyId(ctx, ident);
  }
  if (!isKeyIdFormat(keyId)) throw invalidKeyId(keyId);
  return keyId;
}

async function aliasToKeyId(ctx: KmsContext, aliasName: string): Promise<string> {
  // A name no alias can have (the model's pattern and length) cannot exist; do not ask storage.
  if (aliasName.length > 256 || !looksLikeAliasName(aliasName)) throw aliasNotFound(ctx, aliasName);
  const target = await ctx.store.aliasTarget(aliasName);
  if (target !== null) return target;
  // AWS KMS: naming a predefined alias/aws/<service> alias that has no key yet creates the AWS managed key.
  const created = await ctx.lifecycle?.serviceKeyFor(aliasName);
  if (!created) throw aliasNotFound(ctx, aliasName);
  return created;
}

/**
 * Resolves and loads a key (from the cache when fresh). NotFoundException when it does not exist.
 * The returned key's material buffers must be used before the caller's next await.
 */
export async function resolveKey(ctx: KmsContext, ident: string, forms: IdForms): Promise<LoadedKey> {
  const keyId = await resolveKeyId(ctx, ident, forms);
  const key = await ctx.store.getKey(keyId);
  if (!key) throw keyNotFound(ctx, keyId);
  return key;
}

/**
 * kms:RequestAlias: "the alias name ... that identifies the KMS key in the request" (AWS KMS
 * condition keys). The alias name for an alias name or alias ARN; undefined for a key id or ARN.
 */
export function requestAliasOf(ident: string | undefined): string | undefined {
  if (ident === undefined) return undefined;
  if (ident.startsWith('alias/')) return ident;
  if (!ident.startsWith('arn:')) return undefined;
  const arn = parseKmsArn(ident);
  return arn?.type === 'alias' ? arn.id : undefined;
}
