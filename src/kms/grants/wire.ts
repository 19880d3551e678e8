// Grants at the wire boundary: request shapes shared by the grant operations, conversion of
// constraints and stored grants to AWS's GrantListEntry, and AWS KMS's grant errors.
import { InvalidGrantIdException, NotFoundException, ValidationException } from '../../errors.ts';
import { keyArn, type Scope } from '../ids.ts';
import { wireDate } from '../model.ts';
import { S } from '../../validation/request.ts';
import type { GrantConstraints, GrantListEntry } from '../wire.ts';
import { GRANT_ID, GRANT_OPERATIONS, type GrantConstraintsRecord, type GrantRecord } from './model.ts';

/** Service model shapes: PrincipalIdType, GrantNameType, GrantIdType, GrantTokenType, GrantOperationList, GrantConstraints. */
export const G = {
  Principal: S.string({ min: 1, max: 256, pattern: '^[\\w+=,.@:/-]+$' }),
  Name: S.string({ min: 1, max: 256, pattern: '^[a-zA-Z0-9:/_-]+$' }),
  GrantId: S.string({ min: 1, max: 128 }),
  GrantToken: S.string({ min: 1, max: 8192 }),
  Operations: S.list(S.enum(GRANT_OPERATIONS)),
  Constraints: S.struct({ EncryptionContextSubset: S.map(), EncryptionContextEquals: S.map() }),
} as const;

/**
 * AWS KMS (CreateGrant, Constraints): "Each constraint value can include up to 8 encryption context
 * pairs. The encryption context value in each constraint cannot exceed 384 characters."
 */
export function constraintsFromWire(c: GrantConstraints | undefined): GrantConstraintsRecord | undefined {
  if (!c) return undefined;
  const out: GrantConstraintsRecord = {};
  for (const [member, field] of [['EncryptionContextSubset', 'subset'], ['EncryptionContextEquals', 'equals']] as const) {
    const pairs = c[member];
    if (pairs === undefined) continue;
    const entries = Object.entries(pairs);
    if (entries.length > 8) throw new ValidationException(`${member} can include at most 8 encryption context pairs; it has ${entries.length}.`);
    for (const [k, v] of entries) {
      if (v.length > 384) throw new ValidationException(`The value of encryption context key '${k}' in ${member} exceeds 384 characters.`);
    }
    out[field] = { ...pairs };
  }
  return out.subset || out.equals ? out : undefined;
}

export function constraintsToWire(c: GrantConstraintsRecord | undefined): GrantConstraints | undefined {
  if (!c) return undefined;
  return { ...(c.subset ? { EncryptionContextSubset: c.subset } : {}), ...(c.equals ? { EncryptionContextEquals: c.equals } : {}) };
}

export function grantEntry(scope: Scope, g: GrantRecord): GrantListEntry {
  const constraints = constraintsToWire(g.constraints);
  return {
    KeyId: keyArn(scope, g.keyId),
    GrantId: g.grantId,
    ...(g.name !== undefined ? { Name: g.name } : {}),
    CreationDate: wireDate(g.creationDate),
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal !== undefined ? { RetiringPrincipal: g.retiringPrincipal } : {}),
    IssuingAccount: g.issuingAccount,
    Operations: [...g.operations],
    ...(constraints ? { Constraints: constraints } : {}),
  };
}

/** AWS KMS (InvalidGrantIdException): "The request was rejected because the specified GrantId is not valid." */
export function checkGrantId(id: string): void {
  if (!GRANT_ID.test(id)) throw new InvalidGrantIdException(`Invalid grant ID: ${id}`);
}

export function grantNotFound(grantId: string): Error {
  return new NotFoundException(`Grant ID ${grantId} not found`);
}
