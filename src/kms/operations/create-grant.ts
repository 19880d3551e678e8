// CreateGrant: lets a grantee principal use the key for the listed operations (optionally only
// with a given encryption context) without changing any policy. Returns the grant id and a grant
// token that makes the grant usable at once on every node (see grants/token.ts).
import { randomBytes } from '../../crypto/index.ts';
import { DryRunOperationException, LimitExceededException, ValidationException } from '../../errors.ts';
import { rootArn } from '../../iam/identity.ts';
import { keyNotFound, nowMs, operation, requireNotPendingDeletion } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { CreateGrantRequest } from '../wire.ts';
import { MAX_GRANTS_PER_KEY, SYMMETRIC_GRANT_OPERATIONS, type GrantConstraintsRecord, type GrantRecord } from '../grants/model.ts';
import { checkPrincipal, noBroaderThan } from '../grants/match.ts';
import { constraintsFromWire, G } from '../grants/wire.ts';
import { DRY_RUN_MESSAGE } from './encrypt.ts';

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
const sameContext = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort()) && (a === undefined) === (b === undefined);
const sameConstraints = (a: GrantConstraintsRecord | undefined, b: GrantConstraintsRecord | undefined) =>
  sameContext(a?.subset, b?.subset) && sameContext(a?.equals, b?.equals);

export const createGrant = operation<CreateGrantRequest>({
  name: 'CreateGrant',
  input: S.struct({
    KeyId: T.KeyId, GranteePrincipal: G.Principal, RetiringPrincipal: G.Principal, Operations: G.Operations,
    Constraints: G.Constraints, GrantTokens: T.GrantTokens, Name: G.Name, DryRun: T.Boolean,
  }, ['KeyId', 'GranteePrincipal', 'Operations']),

  async run(ctx, req, call) {
    // AWS KMS: "KeyId: Identifies the KMS key for the grant ... Specify the key ID or key ARN."
    const key = await resolveKey(ctx, req.KeyId, 'key');
    checkPrincipal(req.GranteePrincipal);
    if (req.RetiringPrincipal !== undefined) checkPrincipal(req.RetiringPrincipal);
    const operations = [...new Set(req.Operations)];
    if (operations.length === 0) throw new ValidationException('A grant must allow at least one operation.');
    const invalid = operations.filter((op) => !SYMMETRIC_GRANT_OPERATIONS.has(op));
    if (invalid.length > 0) throw new ValidationException(`Grant operations ${invalid.join(', ')} are not valid for a symmetric encryption KMS key.`);
    const constraints = constraintsFromWire(req.Constraints);
    // kms:CreateGrant on the key, with kms:GrantOperations; or a grant that allows CreateGrant and
    // is at least as broad as the new one (AWS: "equally strict or stricter" constraints).
    await call.authz.key(key, 'kms:CreateGrant', {
      grantOperations: operations, grantTokens: req.GrantTokens,
      grantFilter: (parent) => noBroaderThan({ operations, ...(constraints ? { constraints } : {}) }, parent),
    });
    // AWS KMS key states: CreateGrant on a key pending deletion -> KMSInvalidStateException.
    requireNotPendingDeletion(key.record);
    if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);

    const keyId = key.record.keyId;
    const fresh: GrantRecord = {
      grantId: randomBytes(32).toString('hex'),
      keyId,
      ...(req.Name !== undefined ? { name: req.Name } : {}),
      granteePrincipal: req.GranteePrincipal,
      ...(req.RetiringPrincipal !== undefined ? { retiringPrincipal: req.RetiringPrincipal } : {}),
      operations,
      ...(constraints ? { constraints } : {}),
      issuingAccount: rootArn(ctx.accountId, ctx.partition),
      creationDate: nowMs(ctx),
    };
    let grant = fresh;
    const { keyVersion } = await ctx.grants.change(ctx.store, keyId, () => keyNotFound(ctx, keyId), (rec, set) => {
      requireNotPendingDeletion(rec);
      // AWS KMS (Name): "When this value is present, you can retry this request with identical
      // parameters; if any parameter is different, KMS creates a new grant." Same grant id, new token.
      if (req.Name !== undefined) {
        const same = set.grants.find((g) => g.name === req.Name && g.granteePrincipal === fresh.granteePrincipal
          && g.retiringPrincipal === fresh.retiringPrincipal && sameSet(g.operations, operations) && sameConstraints(g.constraints, constraints));
        if (same) {
          grant = same;
          return null;
        }
      }
      // AWS KMS quota "Grants for a KMS key".
      if (set.grants.length >= MAX_GRANTS_PER_KEY) throw new LimitExceededException(`The KMS key ${rec.arn} has reached the quota of ${MAX_GRANTS_PER_KEY} grants.`);
      return { add: fresh };
    });
    const token = await ctx.tokens.issue({
      keyId, keyVersion, grantId: grant.grantId, granteePrincipal: grant.granteePrincipal, operations: grant.operations,
      ...(grant.retiringPrincipal !== undefined ? { retiringPrincipal: grant.retiringPrincipal } : {}),
      ...(grant.constraints ? { constraints: grant.constraints } : {}),
    });
    return { GrantToken: token, GrantId: grant.grantId };
  },
});
