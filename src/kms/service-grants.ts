// For rekey components that act as an AWS service on a caller's behalf and hold a grant on the
// caller's key (src/db, as Amazon RDS does): check that the caller may let the service use the
// key, create the service's grant, retire it when the resource goes away.
//
// AWS RDS (User Guide, "Key management"): "To use a customer managed key ... the user must have
// kms:CreateGrant and kms:DescribeKey permissions on the key", evaluated with kms:ViaService set to
// rds.<region>.amazonaws.com; RDS then creates a grant for itself on the key. An AWS managed key
// (alias/aws/rds) is usable by any principal of the account through the service.
import { randomBytes } from '../crypto/index.ts';
import { LimitExceededException } from '../errors.ts';
import { rootArn } from '../iam/identity.ts';
import { Authz, type AuthzDeps } from './authz.ts';
import { keyNotFound, requireEnabled, type KmsContext } from './context.ts';
import { MAX_GRANTS_PER_KEY, type GrantRecord } from './grants/model.ts';
import { resolveKey } from './resolve.ts';
import type { OnBehalf } from './service.ts';

export interface ServiceGrantInput {
  granteePrincipal: string;
  retiringPrincipal: string;
  operations: string[];
  /** EncryptionContextSubset the grant is limited to. */
  contextSubset: Record<string, string>;
  name: string;
}

/**
 * Resolves `keyIdent` (id, ARN, alias, alias ARN) to an Enabled key the caller may use through the
 * service: every action in `actions` allowed with kms:ViaService. Throws as KMS would
 * (NotFoundException, DisabledException, KMSInvalidStateException, AccessDeniedException).
 */
export async function authorizeThroughService(ctx: KmsContext, authz: AuthzDeps, keyIdent: string, actions: readonly string[], onBehalf: OnBehalf): Promise<{ keyId: string; arn: string; keyManager: string }> {
  const key = await resolveKey(ctx, keyIdent, 'any');
  requireEnabled(key.record);
  if (key.record.keyManager !== 'AWS') {
    const check = new Authz(authz, onBehalf.caller, onBehalf.request);
    for (const action of actions) await check.key(key, action, { viaService: onBehalf.viaService });
  }
  return { keyId: key.record.keyId, arn: key.record.arn, keyManager: key.record.keyManager ?? 'CUSTOMER' };
}

/** Creates the service's grant (idempotent by name: the same name and grantee returns the existing grant id). */
export async function createServiceGrant(ctx: KmsContext, keyId: string, input: ServiceGrantInput): Promise<string> {
  const fresh: GrantRecord = {
    grantId: randomBytes(32).toString('hex'), keyId, name: input.name,
    granteePrincipal: input.granteePrincipal, retiringPrincipal: input.retiringPrincipal,
    operations: [...input.operations], constraints: { subset: { ...input.contextSubset } },
    issuingAccount: rootArn(ctx.accountId, ctx.partition), creationDate: ctx.clock().getTime(),
  };
  let grantId = fresh.grantId;
  await ctx.grants.change(ctx.store, keyId, () => keyNotFound(ctx, keyId), (rec, set) => {
    requireEnabled(rec);
    const same = set.grants.find((g) => g.name === input.name && g.granteePrincipal === input.granteePrincipal);
    if (same) {
      grantId = same.grantId;
      return null;
    }
    if (set.grants.length >= MAX_GRANTS_PER_KEY) throw new LimitExceededException(`The KMS key ${rec.arn} has reached the quota of ${MAX_GRANTS_PER_KEY} grants.`);
    return { add: fresh };
  });
  return grantId;
}

/** Retires a grant by id (no-op when it is gone, or the key is). */
export async function retireServiceGrant(ctx: KmsContext, keyId: string, grantId: string): Promise<boolean> {
  if (!(await ctx.store.readKey(keyId))) return false;
  const { change } = await ctx.grants.change(ctx.store, keyId, () => keyNotFound(ctx, keyId), (_rec, set) => {
    const g = set.grants.find((x) => x.grantId === grantId);
    return g ? { remove: g } : null;
  });
  return change !== null;
}
