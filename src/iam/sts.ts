// AWS STS actions: GetSessionToken, AssumeRole, GetCallerIdentity (AWS Security Token Service
// API Reference). Protocol-free: src/http/sts.ts speaks the Query protocol around this.
import { AccessDeniedException, ValidationException } from '../errors.ts';
import { authorize } from './policy/evaluate.ts';
import { compilePolicy } from './policy/compile.ts';
import { globalContext } from './policy/context.ts';
import { assumedRoleArn } from './identity.ts';
import type { Identity } from './identity.ts';
import type { PrincipalStore } from './principals.ts';
import type { MfaStore } from './mfa.ts';
import { newSessionCredentials, type SessionStore } from './sessions.ts';
import type { SessionRecord } from './model.ts';

export interface StsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ISO 8601, second precision, 'Z'. */
  expiration: string;
}

export interface RequestInfo {
  sourceIp?: string;
  secureTransport?: boolean;
}

// AWS GetSessionToken: "The value can range from 900 seconds (15 minutes) to 129,600 seconds (36
// hours), with 43,200 seconds (12 hours) as the default. Sessions for AWS account owners are
// restricted to a maximum of 3,600 seconds (one hour)."
export const SESSION_TOKEN_DURATION = { min: 900, max: 129600, default: 43200, rootMax: 3600 } as const;
// AWS AssumeRole: "from 900 seconds (15 minutes) up to the maximum session duration setting for
// the role"; default 3600; role chaining "limits your AWS CLI or AWS API role session to a maximum of one hour".
export const ASSUME_ROLE_DURATION = { min: 900, default: 3600, chainedMax: 3600 } as const;

const MFA_FAILED = 'MultiFactorAuthentication failed with invalid MFA one time pass code. ';

function validation(member: string, value: unknown, constraint: string): Error {
  return new ValidationException(`1 validation error detected: Value '${String(value).slice(0, 128)}' at '${member}' failed to satisfy constraint: ${constraint}`);
}

function duration(v: number | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v)) throw validation('durationSeconds', v, 'Member must be an integer');
  if (v < min) throw validation('durationSeconds', v, `Member must have value greater than or equal to ${min}`);
  if (v > max) throw validation('durationSeconds', v, `Member must have value less than or equal to ${max}`);
  return v;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class StsService {
  constructor(
    private readonly principals: PrincipalStore,
    private readonly sessions: SessionStore,
    private readonly mfa: MfaStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private async checkMfa(caller: Identity, serialNumber: string | undefined, tokenCode: string | undefined): Promise<boolean> {
    if (serialNumber === undefined && tokenCode === undefined) return false;
    if (serialNumber === undefined || serialNumber.length < 9 || serialNumber.length > 256) throw validation('serialNumber', serialNumber, 'Member must have length between 9 and 256');
    if (tokenCode === undefined || !/^\d{6}$/.test(tokenCode)) throw validation('tokenCode', tokenCode, 'Member must satisfy regular expression pattern: [\\d]*');
    // The device must be enabled for the calling IAM user (a role session has no MFA devices).
    if (!caller.userName || !(await this.mfa.verify(caller.userName, serialNumber, tokenCode))) throw new AccessDeniedException(MFA_FAILED);
    return true;
  }

  private async issue(rec: Omit<SessionRecord, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>): Promise<StsCredentials> {
    const creds = newSessionCredentials();
    await this.sessions.put({ ...rec, ...creds });
    return { ...creds, expiration: iso(rec.expiresAt) };
  }

  /** GetSessionToken: temporary credentials for an IAM user (or the account root), optionally MFA-authenticated. */
  async getSessionToken(caller: Identity, input: { durationSeconds?: number; serialNumber?: string; tokenCode?: string }): Promise<StsCredentials> {
    // AWS: "You cannot call GetSessionToken with session credentials."
    if (caller.sessionIssuedAt !== undefined) throw new AccessDeniedException('Cannot call GetSessionToken with session credentials');
    const max = caller.type === 'Root' ? SESSION_TOKEN_DURATION.rootMax : SESSION_TOKEN_DURATION.max;
    const secs = duration(input.durationSeconds, SESSION_TOKEN_DURATION.min, max, Math.min(SESSION_TOKEN_DURATION.default, max));
    const mfa = await this.checkMfa(caller, input.serialNumber, input.tokenCode);
    const now = this.clock().getTime();
    return this.issue({
      accountId: caller.accountId, type: 'IAMUser', arn: caller.arn, principalId: caller.principalId,
      ...(caller.userName ? { userName: caller.userName } : {}),
      issuedAt: now, expiresAt: now + secs * 1000, mfaAuthenticated: mfa, ...(mfa ? { mfaAuthenticatedAt: now } : {}),
      sourceAccessKeyId: caller.accessKeyId,
    });
  }

  /**
   * AssumeRole: the role's trust policy is its resource-based policy, so the same evaluation as
   * for KMS applies: a trust policy naming the caller allows; one naming the account needs an
   * identity policy allowing sts:AssumeRole; an explicit deny anywhere wins. AWS answers a role
   * that does not exist the same way as one the caller may not assume (AccessDenied).
   */
  async assumeRole(caller: Identity, input: {
    roleArn: string; roleSessionName: string; durationSeconds?: number; externalId?: string; serialNumber?: string; tokenCode?: string;
  } & RequestInfo): Promise<{ credentials: StsCredentials; assumedRoleUser: { arn: string; assumedRoleId: string } }> {
    if (typeof input.roleArn !== 'string' || input.roleArn.length < 20 || input.roleArn.length > 2048) throw validation('roleArn', input.roleArn, 'Member must have length between 20 and 2048');
    const name = input.roleSessionName;
    if (typeof name !== 'string' || name.length < 2 || name.length > 64) throw validation('roleSessionName', name, 'Member must have length between 2 and 64');
    if (!/^[\w+=,.@-]*$/.test(name)) throw validation('roleSessionName', name, 'Member must satisfy regular expression pattern: [\\w+=,.@-]*');
    const mfa = await this.checkMfa(caller, input.serialNumber, input.tokenCode);

    const m = /^arn:[\w-]+:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(input.roleArn);
    const role = m && m[1] === this.principals.accountId ? await this.principals.findRole(m[2]!) : null;
    const now = this.clock();
    // AWS STS's message has no "because ..." clause: "User: <arn> is not authorized to perform: sts:AssumeRole on resource: <role arn>"
    const denied = () => new AccessDeniedException(`User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`);
    if (!role || role.arn !== input.roleArn) throw denied();
    const context = globalContext({ principal: { ...caller, mfaAuthenticated: mfa ? true : caller.mfaAuthenticated }, now, sourceIp: input.sourceIp, secureTransport: input.secureTransport });
    if (input.externalId !== undefined) context['sts:externalid'] = input.externalId;
    const d = authorize({
      principal: caller, action: 'sts:AssumeRole', resource: role.arn, keyPolicy: compilePolicy(role.trustPolicy, 'trust'),
      identityPolicies: caller.identityPolicies, context,
    });
    if (!d.allowed) throw denied();

    const chained = caller.type === 'AssumedRole';
    if (chained && input.durationSeconds !== undefined && input.durationSeconds > ASSUME_ROLE_DURATION.chainedMax) {
      throw new ValidationException('The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.');
    }
    if (input.durationSeconds !== undefined && input.durationSeconds > role.maxSessionDuration) {
      throw new ValidationException('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    const secs = duration(input.durationSeconds, ASSUME_ROLE_DURATION.min, role.maxSessionDuration, ASSUME_ROLE_DURATION.default);
    const arn = assumedRoleArn(role.accountId, role.name, name, this.principals.partition);
    const assumedRoleId = `${role.roleId}:${name}`;
    const t = now.getTime();
    // MFA carries over from an MFA-authenticated caller session, or is established by this call's code.
    const mfaAt = mfa ? t : caller.mfaAuthenticated ? caller.mfaAuthenticatedAt : undefined;
    const credentials = await this.issue({
      accountId: role.accountId, type: 'AssumedRole', arn, principalId: assumedRoleId, roleName: role.name, roleArn: role.arn, sessionName: name,
      issuedAt: t, expiresAt: t + secs * 1000, mfaAuthenticated: mfa || caller.mfaAuthenticated === true,
      ...(mfaAt !== undefined ? { mfaAuthenticatedAt: mfaAt } : {}),
    });
    return { credentials, assumedRoleUser: { arn, assumedRoleId } };
  }

  /** GetCallerIdentity: "No permissions are required to perform this operation." */
  getCallerIdentity(caller: Identity): { account: string; arn: string; userId: string } {
    return { account: caller.accountId, arn: caller.arn, userId: caller.principalId };
  }
}
