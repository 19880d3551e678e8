// Authentication of AWS-protocol requests: SigV4 verification against long-term access keys or
// STS session credentials, then the caller's Identity (ARN, type, MFA state, identity policies).
import { UnrecognizedClientException } from '../errors.ts';
import { INVALID_TOKEN_MESSAGE } from './errors.ts';
import {
  checkSigV4Request, checkSigV4Signature, verifyPresignedSigV4Async, type AsyncVerifyOptions, type Credential, type SignedRequest,
} from './sigv4.ts';
import type { AccessKeyStore, AccessKeyRecord } from './access-keys.ts';
import type { SessionStore } from './sessions.ts';
import { compiledPolicies, type PrincipalStore } from './principals.ts';
import type { CompiledPolicy } from './policy/compile.ts';
import type { Identity } from './identity.ts';
import type { RoleRecord, SessionRecord, UserRecord } from './model.ts';

type CredentialLookup = AsyncVerifyOptions['lookup'];

export interface AuthenticateOptions {
  /** SigV4 service name the request must be scoped to: 'kms', 'secretsmanager', 'sts', 'iam'. */
  service: string;
  region: string | readonly string[];
  /** Allowed X-Amz-Date skew (AWS: 5 minutes). */
  skewMs: number;
  now: Date;
}

export class Authenticator {
  // Compiled policies per loaded record object: records are replaced (not mutated) on change and
  // re-read after the cache TTL, so this never serves stale policies.
  private readonly compiled = new WeakMap<UserRecord | RoleRecord, CompiledPolicy[]>();

  constructor(
    private readonly keys: AccessKeyStore,
    private readonly sessions: SessionStore,
    private readonly principals: PrincipalStore,
  ) {}

  private policiesOf(rec: UserRecord | RoleRecord): CompiledPolicy[] {
    let c = this.compiled.get(rec);
    if (!c) {
      c = compiledPolicies(rec.policies);
      this.compiled.set(rec, c);
    }
    return c;
  }

  /**
   * Verifies the request's signature and returns who made it. Throws the AWS errors:
   * MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException
   * (bad signature, wrong scope, X-Amz-Date outside the skew), UnrecognizedClientException
   * (unknown or inactive key, missing or wrong session token, deleted principal),
   * ExpiredTokenException (expired session).
   *
   * The request is checked once (checkSigV4Request); each record (access key or session, then its
   * user or role) comes from the identity caches when they hold it (peek: no promise, no closure)
   * and is read from storage otherwise, so a fully cached call runs without awaiting anything.
   */
  async authenticate(req: SignedRequest, o: AuthenticateOptions): Promise<Identity> {
    const checked = checkSigV4Request(req, o);
    const id = checked.auth.accessKeyId;
    if (id.startsWith('ASIA')) {
      const cached = this.sessions.peek(id);
      const session = cached !== undefined ? cached : await this.sessions.get(id);
      checkSigV4Signature(req, checked, session ? sessionCredential(session, id) : undefined, o.now);
      const s = session!;
      // (null from a peek: known absent; undefined: not cached)
      const peeked = s.type === 'AssumedRole' ? this.principals.peekRole(s.roleName!) : this.principals.peekUser(s.userName!);
      const principal = peeked !== undefined ? peeked : s.type === 'AssumedRole' ? await this.principals.findRole(s.roleName!) : await this.principals.findUser(s.userName!);
      return this.sessionIdentityOf(s, id, principal);
    }
    const cached = this.keys.peek(id);
    const key = cached !== undefined ? cached : await this.keys.get(id);
    // AWS: an inactive key is answered like an unknown one.
    checkSigV4Signature(req, checked, key && key.status === 'Active' ? keyCredential(key, id) : undefined, o.now);
    if (keyIsRoot(key!)) return rootIdentity(key!, id);
    const name = userNameOf(key!);
    const user = this.principals.peekUser(name);
    return this.userIdentityOf(id, user !== undefined ? user : await this.principals.findUser(name));
  }

  /**
   * The same for a presigned (query-string signed) request, such as an RDS IAM database
   * authentication token; X-Amz-Expires may be at most `maxExpiresS`. Same errors, plus
   * InvalidSignatureException when X-Amz-Date + X-Amz-Expires has passed.
   */
  async authenticatePresigned(req: SignedRequest, o: AuthenticateOptions & { maxExpiresS: number }): Promise<Identity> {
    return this.identify((lookup) => verifyPresignedSigV4Async(req, { region: o.region, service: o.service, now: o.now, skewMs: o.skewMs, maxExpiresS: o.maxExpiresS, lookup }));
  }

  /** Runs a verifier with the credential lookup (sessions for ASIA ids, access keys otherwise) and builds the Identity. */
  private async identify(verify: (lookup: CredentialLookup) => Promise<{ credential: Credential }>): Promise<Identity> {
    let key: AccessKeyRecord | null = null;
    let session: SessionRecord | null = null;
    const { credential } = await verify(async (id): Promise<Credential | undefined> => {
      if (id.startsWith('ASIA')) {
        session = await this.sessions.get(id);
        return session ? sessionCredential(session, id) : undefined;
      }
      key = await this.keys.get(id);
      // AWS: an inactive key is answered like an unknown one.
      return key && key.status === 'Active' ? keyCredential(key, id) : undefined;
    });
    const s = session as SessionRecord | null;
    if (s) return this.sessionIdentity(s, credential.accessKeyId);
    return this.keyIdentity(key as AccessKeyRecord | null, credential.accessKeyId);
  }

  private async keyIdentity(k: AccessKeyRecord | null, accessKeyId: string): Promise<Identity> {
    if (!k) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
    if (keyIsRoot(k)) return rootIdentity(k, accessKeyId);
    return this.userIdentityOf(accessKeyId, await this.principals.findUser(userNameOf(k)));
  }

  private userIdentityOf(accessKeyId: string, user: UserRecord | null): Identity {
    if (!user) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
    return { type: 'IAMUser', arn: user.arn, accountId: user.accountId, accessKeyId, principalId: user.userId, userName: user.name, identityPolicies: this.policiesOf(user) };
  }

  private async sessionIdentity(s: SessionRecord, accessKeyId: string): Promise<Identity> {
    const principal = s.type === 'AssumedRole' ? await this.principals.findRole(s.roleName!) : await this.principals.findUser(s.userName!);
    return this.sessionIdentityOf(s, accessKeyId, principal);
  }

  /** `principal`: the session's role (AssumedRole) or user, as found now. */
  private sessionIdentityOf(s: SessionRecord, accessKeyId: string, principal: RoleRecord | UserRecord | null): Identity {
    const common = {
      arn: s.arn, accountId: s.accountId, accessKeyId, principalId: s.principalId, mfaAuthenticated: s.mfaAuthenticated,
      sessionIssuedAt: s.issuedAt, sessionExpiresAt: s.expiresAt,
      ...(s.mfaAuthenticatedAt !== undefined ? { mfaAuthenticatedAt: s.mfaAuthenticatedAt } : {}),
    };
    if (s.type === 'AssumedRole') {
      const role = principal as RoleRecord | null;
      // a role deleted (or deleted and re-created) since the session was issued: the session is void
      if (!role || role.arn !== s.roleArn || !s.principalId.startsWith(role.roleId)) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
      return { ...common, type: 'AssumedRole', roleArn: role.arn, roleName: role.name, sessionName: s.sessionName!, identityPolicies: this.policiesOf(role) };
    }
    const user = principal as UserRecord | null;
    if (!user || user.userId !== s.principalId) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
    return { ...common, type: 'IAMUser', userName: user.name, identityPolicies: this.policiesOf(user) };
  }
}

function keyIsRoot(k: AccessKeyRecord): boolean {
  return k.principalArn.endsWith(':root');
}

function userNameOf(k: AccessKeyRecord): string {
  return k.userName ?? k.principalArn.slice(k.principalArn.lastIndexOf('/') + 1);
}

function rootIdentity(k: AccessKeyRecord, accessKeyId: string): Identity {
  return { type: 'Root', arn: k.principalArn, accountId: k.accountId, accessKeyId, principalId: k.accountId, identityPolicies: [] };
}

function keyCredential(k: AccessKeyRecord, accessKeyId: string): Credential {
  return { accessKeyId, secretAccessKey: k.secretAccessKey };
}

function sessionCredential(s: SessionRecord, accessKeyId: string): Credential {
  return { accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken, expiresAt: s.expiresAt };
}
