// The authenticated caller of a request, as the identity component hands it to the services.
// Structurally a superset of the KMS layer's Caller ({ accountId, arn, accessKeyId }) and of the
// audit trail's AuditCaller, so it can be passed to both unchanged.
import type { CompiledPolicy, PrincipalRef } from './policy/compile.ts';

export type IdentityType = 'Root' | 'IAMUser' | 'AssumedRole';

export interface Identity extends PrincipalRef {
  accountId: string;
  /** The caller's ARN as AWS reports it: user ARN, arn:aws:sts::<acct>:assumed-role/<role>/<session>, or root. */
  arn: string;
  accessKeyId: string;
  type: IdentityType;
  /** AWS unique id: AIDA... for users, "AROA...:<session>" for role sessions, the account id for root. */
  principalId: string;
  /** For an assumed-role session: the role ARN (aws:PrincipalArn, and what a Principal naming the role matches). */
  roleArn?: string;
  userName?: string;
  roleName?: string;
  sessionName?: string;
  /**
   * Temporary credentials only: whether the session was created with a valid MFA code
   * (aws:MultiFactorAuthPresent). Undefined for long-term access keys: AWS leaves the key out of
   * the request context then.
   */
  mfaAuthenticated?: boolean;
  /** Epoch ms when MFA was validated (aws:MultiFactorAuthAge). */
  mfaAuthenticatedAt?: number;
  /** Temporary credentials: when the session was issued / expires (epoch ms). */
  sessionIssuedAt?: number;
  sessionExpiresAt?: number;
  /** The caller's identity-based policies (inline policies of the user, or of the role for sessions), compiled. */
  identityPolicies: readonly CompiledPolicy[];
}

export function rootArn(accountId: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:root`;
}
export function userArn(accountId: string, name: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:user/${name}`;
}
export function roleArn(accountId: string, name: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:role/${name}`;
}
export function assumedRoleArn(accountId: string, role: string, session: string, partition = 'aws'): string {
  return `arn:${partition}:sts::${accountId}:assumed-role/${role}/${session}`;
}
export function mfaDeviceArn(accountId: string, name: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:mfa/${name}`;
}

/**
 * Facts about one request that policies test (aws:SourceIp, aws:SecureTransport) and that the
 * audit trail records; the one definition every service and the HTTP pipeline share.
 */
export interface RequestFacts {
  requestId?: string;
  sourceIp?: string;
  secureTransport?: boolean;
  userAgent?: string;
  /**
   * The audit gate: mutating operations call this once, after their outcome is decided and before
   * their first write; it records the call's event and rejects (so nothing is written) when it cannot.
   * `partialOutput` is what is already known of the response (CreateKey's key).
   */
  beforeCommit?: (partialOutput?: unknown) => Promise<void>;
  /**
   * Set only by rekey components acting as an AWS service (src/db as RDS), never from the wire:
   * Secrets Manager then accepts the service's reserved secret names (`rds!...`).
   */
  managingService?: 'rds';
}
