// Request-quota configuration and AWS's default request quotas (docs/TLS.md#quotas).
//
// Defaults follow the AWS KMS Developer Guide ("Request quotas") and the Secrets Manager User
// Guide ("Quotas"): KMS cryptographic operations share one per-account quota (5,500/s, the
// default in most regions); control-plane operations each have their own (CreateKey 5/s,
// DescribeKey 2,000/s, ...); Secrets Manager's GetSecretValue and DescribeSecret share 10,000/s.
// An operation not listed falls under its service's `*` rule.

export interface QuotaConfig {
  enabled: boolean;
  /** Requests per second by rule name, overriding the defaults: {"kms:cryptographic": 1000, "kms:CreateKey": 20}. */
  rates: Record<string, number>;
  /** Bucket size: a client may burst to rate x burstSeconds requests at once. */
  burstSeconds: number;
  /**
   * The most of a shared per-account quota (SHARED_RULES: KMS cryptographic operations, Secrets
   * Manager reads) one principal may use (0 < share <= 1). Below 1, one noisy client cannot
   * starve the others in its account; 1 is AWS's exact per-account behaviour. Control-plane
   * quotas (CreateKey 5/s, ...) are per account as in AWS.
   */
  principalShare: number;
  /** Per-principal rates by principal ARN (a role ARN covers its sessions): {"arn:aws:iam::1:user/batch": {"kms:cryptographic": 50}}. */
  principals: Record<string, Record<string, number>>;
}

export function defaultQuotaConfig(): QuotaConfig {
  return { enabled: true, rates: {}, burstSeconds: 1, principalShare: 0.5, principals: {} };
}

const RATES = { type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0, maximum: 10_000_000 }, propertyNames: { pattern: '^[a-z0-9-]+:[A-Za-z*]+$' } } as const;

export const QUOTA_CONFIG_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['enabled', 'rates', 'burstSeconds', 'principalShare', 'principals'],
  properties: {
    enabled: { type: 'boolean' },
    rates: RATES,
    burstSeconds: { type: 'number', minimum: 0.01, maximum: 3600 },
    principalShare: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    principals: { type: 'object', additionalProperties: RATES, propertyNames: { pattern: '^arn:' } },
  },
} as const;

/** KMS operations that share the account's cryptographic-operations quota. */
export const KMS_CRYPTOGRAPHIC = [
  'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateRandom', 'GenerateMac', 'VerifyMac', 'Sign', 'Verify', 'DeriveSharedSecret',
] as const;

/** The high-rate quotas that all principals of an account share (principalShare applies to these). */
export const SHARED_RULES: ReadonlySet<string> = new Set(['kms:cryptographic', 'secretsmanager:read']);

/** Default requests per second by rule. Rule names: "<signing name>:<operation or group>". */
export const DEFAULT_RATES: Readonly<Record<string, number>> = {
  'kms:cryptographic': 5500,
  'kms:CreateKey': 5, 'kms:CreateAlias': 5, 'kms:DeleteAlias': 5, 'kms:UpdateAlias': 5,
  'kms:CreateGrant': 50, 'kms:RetireGrant': 30, 'kms:RevokeGrant': 30, 'kms:ListGrants': 100, 'kms:ListRetirableGrants': 100,
  'kms:DescribeKey': 2000, 'kms:GetKeyPolicy': 1000, 'kms:GetKeyRotationStatus': 1000, 'kms:GetPublicKey': 2000,
  'kms:ListAliases': 100, 'kms:ListKeys': 100, 'kms:ListKeyPolicies': 100, 'kms:ListResourceTags': 100, 'kms:ListKeyRotations': 100,
  'kms:EnableKey': 5, 'kms:DisableKey': 5, 'kms:EnableKeyRotation': 5, 'kms:DisableKeyRotation': 5, 'kms:RotateKeyOnDemand': 5,
  'kms:ScheduleKeyDeletion': 5, 'kms:CancelKeyDeletion': 5, 'kms:PutKeyPolicy': 5, 'kms:UpdateKeyDescription': 5,
  'kms:TagResource': 10, 'kms:UntagResource': 5,
  'kms:*': 5,
  'secretsmanager:read': 10000,
  'secretsmanager:ListSecrets': 100, 'secretsmanager:BatchGetSecretValue': 100,
  'secretsmanager:*': 50,
};

/** The rule an AWS call counts against: its group, its own rule, or its service's `*`. */
export function ruleOf(service: string, operation: string, rates: Readonly<Record<string, number>>): string {
  if (service === 'kms' && (KMS_CRYPTOGRAPHIC as readonly string[]).includes(operation)) return 'kms:cryptographic';
  if (service === 'secretsmanager' && (operation === 'GetSecretValue' || operation === 'DescribeSecret')) return 'secretsmanager:read';
  const own = `${service}:${operation}`;
  return rates[own] !== undefined || DEFAULT_RATES[own] !== undefined ? own : `${service}:*`;
}
