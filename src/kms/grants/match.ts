// Does a grant allow this request? Principal, operation and encryption context constraints, as the
// AWS KMS Developer Guide describes them ("Grant concepts", "Grant constraints").
import { InvalidArnException } from '../../errors.ts';
import type { Identity } from '../../iam/identity.ts';
import type { EncryptionContext } from '../wire.ts';
import { CONTEXT_OPERATIONS, type GrantConstraintsRecord, type GrantTerms } from './model.ts';

// AWS KMS (CreateGrant, GranteePrincipal): "the ARN of an AWS principal. Valid principals include
// AWS accounts, IAM users, IAM roles, federated users, and assumed role users"; grants for AWS
// services name a service principal ("rds.amazonaws.com").
const PRINCIPAL_ARN = /^arn:aws[\w-]*:(iam::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|sts::\d{12}:(assumed-role\/[\w+=,.@/-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;
const SERVICE_PRINCIPAL = /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/;

/** AWS KMS answers a grantee or retiring principal that is not a principal with InvalidArnException. */
export function checkPrincipal(p: string): void {
  if (!PRINCIPAL_ARN.test(p) && !SERVICE_PRINCIPAL.test(p)) throw new InvalidArnException(`ARN does not refer to a valid principal: ${p}`);
}

const ROOT = /^arn:aws[\w-]*:iam::(\d{12}):root$/;

/**
 * How a grant's principal (grantee or retiring) names the caller:
 *  - 'direct': the caller's ARN; a role ARN names every session of the role; the account root
 *    names the root user;
 *  - 'account': the caller's account (root ARN) but not the caller itself. AWS KMS: a grant to an
 *    account lets its principals use the grant only when their IAM policies allow it (the caller
 *    checks that);
 *  - 'none'.
 */
export function principalMatch(principal: string, caller: Pick<Identity, 'arn' | 'accountId' | 'roleArn'>): 'direct' | 'account' | 'none' {
  if (principal === caller.arn || (caller.roleArn !== undefined && principal === caller.roleArn)) return 'direct';
  const root = ROOT.exec(principal);
  return root && root[1] === caller.accountId ? 'account' : 'none';
}

/** A context folded by key case: lower-cased key -> the set of values its spellings carry. */
function fold(context: EncryptionContext | undefined): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [k, v] of Object.entries(context ?? {})) {
    const key = k.toLowerCase();
    const values = out.get(key) ?? new Set<string>();
    values.add(v);
    out.set(key, values);
  }
  return out;
}

function sameValues(a: Set<string> | undefined, b: Set<string> | undefined): boolean {
  return a !== undefined && b !== undefined && a.size === b.size && [...a].every((v) => b.has(v));
}

/**
 * AWS KMS (GrantConstraints): "in a grant constraint, the key in each key-value pair is not case
 * sensitive, but the value is case sensitive." EncryptionContextSubset: the request's context
 * includes every pair; EncryptionContextEquals: it is exactly these pairs.
 *
 * Keys are compared case-insensitively, and every spelling of a constrained key in the request must
 * carry a constrained value: subset {app: billing} does not admit {"app": "hr", "APP": "billing"},
 * and equals {a: 1} does not admit {"A": "z", "a": "1"}. So the answer never depends on which of
 * two spellings comes last, nor on key order (a property in grants.test.ts). Precisely, with F(c)
 * mapping each lower-cased key to the set of values its spellings carry: subset S admits R when
 * F(R)[k] = F(S)[k] for every key k of F(S); equals E admits R when F(R) = F(E).
 */
export function constraintsAllow(c: GrantConstraintsRecord | undefined, context: EncryptionContext | undefined): boolean {
  if (!c) return true;
  const req = fold(context);
  const includes = (pairs: EncryptionContext) => [...fold(pairs)].every(([k, values]) => sameValues(req.get(k), values));
  if (c.subset && !includes(c.subset)) return false;
  if (c.equals && !(includes(c.equals) && req.size === fold(c.equals).size)) return false;
  return true;
}

/**
 * Whether the grant covers `operation` (a grant operation: Encrypt, ReEncryptFrom, RetireGrant, ...)
 * for this encryption context. Constraints apply only to operations that take an encryption context.
 */
export function coversOperation(g: GrantTerms, operation: string, context: EncryptionContext | undefined): boolean {
  if (!g.operations.includes(operation)) return false;
  return !CONTEXT_OPERATIONS.has(operation) || constraintsAllow(g.constraints, context);
}

/**
 * AWS KMS: "If a grant with a grant constraint includes the CreateGrant operation, the constraint
 * requires that any grants created with the CreateGrant permission have an equally strict or
 * stricter encryption context constraint" - and the new grant's operations must be ones the parent
 * grant allows. True when `child` is no broader than `parent`.
 */
export function noBroaderThan(child: Pick<GrantTerms, 'operations' | 'constraints'>, parent: GrantTerms): boolean {
  if (!child.operations.every((op) => parent.operations.includes(op))) return false;
  const p = parent.constraints;
  if (!p) return true;
  const c = child.constraints ?? {};
  // Every context the child allows must be allowed by the parent.
  if (p.equals) return c.equals !== undefined && constraintsAllow({ equals: p.equals }, c.equals);
  if (p.subset) {
    if (c.equals) return constraintsAllow({ subset: p.subset }, c.equals);
    return c.subset !== undefined && constraintsAllow({ subset: p.subset }, c.subset);
  }
  return true;
}
