// Request context keys (IAM User Guide, "AWS global condition context keys"; AWS KMS Developer
// Guide, "AWS KMS condition keys"). Keys are case-insensitive; these builders emit lower-case
// keys, which is the evaluator's fast path.
import type { ContextValue } from './conditions.ts';
import type { Identity } from '../identity.ts';

export type ContextRecord = Record<string, ContextValue>;

/** What a policy condition can test about one request (global condition keys). */
export interface ConditionFacts {
  principal: Pick<Identity, 'arn' | 'accountId' | 'type' | 'principalId'> & Partial<Pick<Identity, 'roleArn' | 'userName' | 'mfaAuthenticated' | 'mfaAuthenticatedAt' | 'sessionIssuedAt'>>;
  now: Date;
  /** The client's address as the server sees it (IPv4-mapped IPv6 is fine). */
  sourceIp?: string;
  /** Whether the request arrived over TLS. */
  secureTransport?: boolean;
}

// aws:CurrentTime has one-second resolution: format each second once (toISOString costs more
// than the rest of a KMS authorization).
let isoSecond = NaN;
let isoText = '';
function isoSeconds(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSecond) {
    isoText = new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    isoSecond = sec;
  }
  return isoText;
}

/** Global keys: aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username, aws:SourceIp, aws:SecureTransport, aws:CurrentTime, aws:EpochTime, aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge, aws:TokenIssueTime. */
export function globalContext(f: ConditionFacts): ContextRecord {
  const p = f.principal;
  const ctx: ContextRecord = {
    // AWS: for a role session, aws:PrincipalArn is the role's ARN, not the session's.
    'aws:principalarn': p.roleArn ?? p.arn,
    'aws:principalaccount': p.accountId,
    'aws:principaltype': p.type === 'IAMUser' ? 'User' : p.type === 'AssumedRole' ? 'AssumedRole' : 'Account',
    'aws:userid': p.principalId,
    'aws:currenttime': isoSeconds(f.now.getTime()),
    'aws:epochtime': Math.floor(f.now.getTime() / 1000),
  };
  if (p.userName !== undefined) ctx['aws:username'] = p.userName;
  if (f.sourceIp !== undefined) ctx['aws:sourceip'] = f.sourceIp;
  if (f.secureTransport !== undefined) ctx['aws:securetransport'] = f.secureTransport;
  // AWS: "If the credentials are long-term ... the aws:MultiFactorAuthPresent key is not present."
  if (p.mfaAuthenticated !== undefined) ctx['aws:multifactorauthpresent'] = p.mfaAuthenticated;
  if (p.mfaAuthenticated && p.mfaAuthenticatedAt !== undefined) ctx['aws:multifactorauthage'] = Math.max(0, Math.floor((f.now.getTime() - p.mfaAuthenticatedAt) / 1000));
  if (p.sessionIssuedAt !== undefined) ctx['aws:tokenissuetime'] = new Date(p.sessionIssuedAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return ctx;
}

export interface KmsFacts extends ConditionFacts {
  /** The request's EncryptionContext (Encrypt, Decrypt, GenerateDataKey*, ReEncrypt, CreateGrant constraints). */
  encryptionContext?: Readonly<Record<string, string>>;
  /** CreateGrant: the Operations of the grant being created. */
  grantOperations?: readonly string[];
  /** The alias named in the request's KeyId ("alias/..."), when an alias was used. */
  requestAlias?: string;
  /** The AWS service calling on the principal's behalf (e.g. "secretsmanager.us-east-1.amazonaws.com"). */
  viaService?: string;
  /** CreateGrant/ListGrants/RevokeGrant called by an integrated service for a persistent resource. */
  grantIsForAwsResource?: boolean;
}

/**
 * The context a KMS operation passes to authorize(): global keys plus kms:CallerAccount,
 * kms:EncryptionContext:<key> (one per pair; AWS: the key part of the condition key is not
 * case-sensitive, the value is), kms:EncryptionContextKeys (the keys, case kept),
 * kms:GrantOperations, kms:RequestAlias, kms:ViaService, kms:GrantIsForAWSResource.
 */
export function kmsContext(f: KmsFacts): ContextRecord {
  const ctx = globalContext(f);
  ctx['kms:calleraccount'] = f.principal.accountId;
  if (f.encryptionContext) {
    const keys = Object.keys(f.encryptionContext);
    for (const k of keys) ctx[`kms:encryptioncontext:${k.toLowerCase()}`] = f.encryptionContext[k]!;
    ctx['kms:encryptioncontextkeys'] = keys;
  }
  if (f.grantOperations) ctx['kms:grantoperations'] = f.grantOperations;
  if (f.requestAlias !== undefined) ctx['kms:requestalias'] = f.requestAlias;
  if (f.viaService !== undefined) ctx['kms:viaservice'] = f.viaService;
  ctx['kms:grantisforawsresource'] = f.grantIsForAwsResource ?? false;
  return ctx;
}
