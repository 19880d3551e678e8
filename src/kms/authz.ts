// Authorization of one KMS request. Every operation calls this after resolving its key and before
// any effect (AWS KMS Developer Guide, "Determining access to an AWS KMS key"):
//   1. the key policy and the caller's IAM policies (src/iam: explicit deny wins; the key policy
//      must allow, directly or by delegating to IAM through the account root);
//   2. on an implicit deny, a grant on the key for this caller and grant operation, whose
//      encryption context constraints the request meets - also one not yet seen by this node but
//      presented as a grant token (see grants/token.ts);
//   3. otherwise AccessDeniedException with AWS's message.
// Operations not on a key (CreateKey, ListKeys, ListAliases, GenerateRandom,
// ListRetirableGrants) and alias ARNs are authorized by IAM policies alone, on resource "*" or the
// alias ARN, as in AWS.
//
// Cost on the hot path (a policy allows): the compiled key policy lives on the cached key record,
// so this is one context build and a few closure calls (a few microseconds); grants are read only
// when the policies do not allow.
import { AccessDeniedException } from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import { accessDeniedMessage, type Decision } from '../iam/policy/evaluate.ts';
import type { CompiledPolicy } from '../iam/policy/compile.ts';
import { kmsContext } from '../iam/policy/context.ts';
import { checkPolicyLockout } from '../iam/policy/key-policy.ts';
import type { LoadedKey } from './keystore.ts';
import type { EncryptionContext } from './wire.ts';
import type { GrantStore } from './grants/store.ts';
import type { GrantTokens, TokenClaims } from './grants/token.ts';
import { GRANT_OPERATIONS, type GrantTerms } from './grants/model.ts';
import { coversOperation, principalMatch } from './grants/match.ts';

/** Facts about the request (the one definition: src/iam/identity.ts). */
import type { RequestFacts } from '../iam/identity.ts';
export type { RequestFacts };

/** Request members that become condition keys or select grants. */
export interface KeyRequestFacts {
  /** kms:EncryptionContext:<key>, kms:EncryptionContextKeys; grant constraints. */
  encryptionContext?: EncryptionContext | undefined;
  /** kms:RequestAlias: the alias name when the request named the key by an alias. */
  requestAlias?: string | undefined;
  /** kms:GrantOperations (CreateGrant). */
  grantOperations?: readonly string[] | undefined;
  /** GrantTokens of the request. */
  grantTokens?: readonly string[] | undefined;
  /** Only grants passing this test may allow the request (CreateGrant: no broader than the parent grant). */
  grantFilter?: (g: GrantTerms) => boolean;
  /** kms:ViaService: the AWS service making the request on the caller's behalf (secretsmanager.<region>.amazonaws.com). */
  viaService?: string | undefined;
}

/** How a key operation was allowed; `grant` is set when a grant (and not a policy) allowed it. */
export interface KeyAccess {
  decision: Decision;
  grant?: GrantTerms;
}

const GRANTABLE: ReadonlySet<string> = new Set(GRANT_OPERATIONS);
const SKIPPED: KeyAccess = { decision: { allowed: true, reason: 'allowed' } };
const NO_CLAIMS: readonly TokenClaims[] = [];

export interface AuthzDeps {
  /** null: authorization is off (benchmarks only; see src/server.ts). */
  iam: IamService | null;
  grants: GrantStore;
  tokens: GrantTokens;
}

export class Authz {
  constructor(private readonly deps: AuthzDeps, readonly caller: Identity, readonly facts: RequestFacts) {}

  private denied(d: Decision, action: string, resource: string): Error {
    return new AccessDeniedException(accessDeniedMessage(d, this.caller.arn, action, resource));
  }

  /** An operation not on a key: the caller's IAM policies on resource "*". */
  account(action: string): void {
    this.deps.iam?.authorizeKms(this.caller, { action, keyArn: '*', request: this.connection() });
  }

  /** An alias: AWS KMS evaluates kms:CreateAlias/UpdateAlias/DeleteAlias on the alias ARN with IAM policies only. */
  alias(action: string, aliasArn: string): void {
    this.deps.iam?.authorizeKms(this.caller, { action, keyArn: aliasArn, request: this.connection() });
  }

  /** May the caller perform `action` ("kms:Encrypt") on this key? Throws AccessDeniedException. */
  async key(key: LoadedKey, action: string, o: KeyRequestFacts = {}): Promise<KeyAccess> {
    const iam = this.deps.iam;
    if (!iam) return SKIPPED;
    // AWS KMS rejects a malformed grant token whatever else allows the request.
    const claims = o.grantTokens && o.grantTokens.length > 0 ? await Promise.all(o.grantTokens.map((t) => this.deps.tokens.open(t))) : NO_CLAIMS;
    const f = this.facts;
    const request = { sourceIp: f.sourceIp, secureTransport: f.secureTransport, encryptionContext: o.encryptionContext, requestAlias: o.requestAlias, grantOperations: o.grantOperations, ...(o.viaService ? { viaService: o.viaService } : {}) };
    const d = iam.decideKms(this.caller, { action, keyArn: key.record.arn, keyPolicy: key.policy(), request });
    if (d.allowed) return { decision: d };
    // "An explicit deny in any policy overrides an allow" - a grant included.
    if (d.reason === 'explicitDeny') throw this.denied(d, action, key.record.arn);
    const operation = action.slice(4);
    if (GRANTABLE.has(operation)) {
      const grant = await this.findGrant(key, action, operation, o, claims);
      if (grant) return { decision: { allowed: true, reason: 'allowed', via: 'grant' }, grant };
    }
    throw this.denied(d, action, key.record.arn);
  }

  private async findGrant(key: LoadedKey, action: string, operation: string, o: KeyRequestFacts, claims: readonly TokenClaims[]): Promise<GrantTerms | undefined> {
    const set = await this.deps.grants.forKey(key);
    for (const g of set.grants) if (this.grantApplies(g, key, action, operation, o)) return g;
    // A token's terms count only while this node's view of the key predates the grant.
    const seen = Math.max(key.version, set.keyVersion);
    for (const c of claims) {
      if (c.keyId !== key.record.keyId || c.keyVersion <= seen) continue;
      if (this.grantApplies(c, key, action, operation, o)) return c;
    }
    return undefined;
  }

  private grantApplies(g: GrantTerms, key: LoadedKey, action: string, operation: string, o: KeyRequestFacts): boolean {
    if (!coversOperation(g, operation, o.encryptionContext) || (o.grantFilter && !o.grantFilter(g))) return false;
    const m = principalMatch(g.granteePrincipal, this.caller);
    if (m === 'direct') return true;
    // A grant to an account: its principals need IAM permission for the operation too.
    return m === 'account' && this.deps.iam!.decideKms(this.caller, { action, keyArn: key.record.arn, request: this.connection() }).allowed;
  }

  /**
   * AWS KMS (RetireGrant): "The grant determines who can retire it": its retiring principal; its
   * grantee when the grant allows RetireGrant; the account the grant (and key) belong to - its root
   * user, and the principals it delegates to through IAM policies allowing kms:RetireGrant.
   */
  retire(g: GrantTerms, keyArn: string, keyAccountId: string): void {
    if (!this.deps.iam) return;
    const c = this.caller;
    if (g.retiringPrincipal !== undefined && principalMatch(g.retiringPrincipal, c) === 'direct') return;
    if (g.operations.includes('RetireGrant') && principalMatch(g.granteePrincipal, c) === 'direct') return;
    if (c.accountId === keyAccountId && (c.type === 'Root' || this.identityAllows('kms:RetireGrant', keyArn))) return;
    throw this.denied({ allowed: false, reason: 'implicitDeny', policyType: 'identity' }, 'kms:RetireGrant', keyArn);
  }

  /**
   * AWS KMS policy lockout safety check (CreateKey/PutKeyPolicy without
   * BypassPolicyLockoutSafetyCheck): MalformedPolicyDocumentException "The new key policy will not
   * allow you to update the key policy in the future." unless the caller could PutKeyPolicy under it.
   */
  checkLockout(policy: CompiledPolicy, keyArn: string, now: Date): void {
    if (!this.deps.iam) return;
    const context = kmsContext({ ...this.connection(), principal: this.caller, now });
    checkPolicyLockout({ keyPolicy: policy, principal: this.caller, identityPolicies: this.caller.identityPolicies, keyArn, context });
  }

  /** Does an IAM policy of the caller allow `action` on the key (ignoring the key policy)? */
  identityAllows(action: string, keyArn: string): boolean {
    const iam = this.deps.iam;
    return !iam || iam.decideKms(this.caller, { action, keyArn, request: this.connection() }).allowed;
  }

  private connection(): { sourceIp: string | undefined; secureTransport: boolean | undefined } {
    return { sourceIp: this.facts.sourceIp, secureTransport: this.facts.secureTransport };
  }
}
