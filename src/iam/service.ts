// The identity component's facade: the stores (access keys, principals, MFA devices, sessions),
// request authentication, STS, and the two authorization entry points the services call.
import type { Barrier } from '../storage/barrier.ts';
import type { WriteGate } from '../storage/gate.ts';
import { AccessKeyStore } from './access-keys.ts';
import { PrincipalStore } from './principals.ts';
import { MfaStore } from './mfa.ts';
import { SessionStore } from './sessions.ts';
import { Authenticator } from './authenticate.ts';
import { StsService, type RequestInfo } from './sts.ts';
import { authorize, authorizeOrThrow, type AuthorizeInput, type Decision } from './policy/evaluate.ts';
import { globalContext, kmsContext, type KmsFacts } from './policy/context.ts';
import { compilePolicy, type CompiledPolicy } from './policy/compile.ts';
import type { SignedRequest } from './sigv4.ts';
import type { Identity } from './identity.ts';
import { DEFAULT_TTL_MS } from './cache.ts';
import { DB_CONNECT_ACTION, DB_TOKEN_MAX_EXPIRES_S, dbTokenRequest, dbUserArn, type DbAuthTokenInput } from './db-auth-token.ts';

export interface IamServiceOptions {
  barrier: Barrier;
  accountId: string;
  /** The region AWS-protocol requests are scoped to. */
  region: string;
  partition?: string;
  clock?: () => Date;
  /** How long identity data is cached; a change on another node is seen within this (default 750 ms). */
  cacheTtlMs?: number;
  /** Allowed X-Amz-Date skew (default: AWS's 5 minutes). */
  skewMs?: number;
  /** Share an existing access key store (and its cache) instead of creating one. */
  accessKeys?: AccessKeyStore;
}

/** What a KMS operation asks: may this caller do `action` on this key now? */
export interface KmsAuthorization {
  /** "kms:Encrypt", "kms:ScheduleKeyDeletion", ... (the operation name with the kms: prefix). */
  action: string;
  /** The key's ARN; "*" for operations not on a key (CreateKey, ListKeys, ListAliases, GenerateRandom). */
  keyArn: string;
  /** The key's policy. Omit for operations not on a key: identity policies alone decide, as in AWS. */
  keyPolicy?: string | CompiledPolicy;
  /** Request facts that become condition keys (source IP, TLS, encryption context, alias, grant operations, via service). */
  request?: Omit<KmsFacts, 'principal' | 'now'>;
  /** A grant on the key allows this operation for this caller (evaluated by the grants code). */
  grantAllows?: boolean;
}

const NO_CONTEXT: Readonly<Record<string, never>> = Object.freeze({});
const conditional = new WeakMap<CompiledPolicy, boolean>();

function usesConditions(p: string | CompiledPolicy | undefined): boolean {
  if (p === undefined) return false;
  const c = typeof p === 'string' ? compilePolicy(p, 'resource') : p;
  let v = conditional.get(c);
  if (v === undefined) conditional.set(c, (v = c.statements.some((st) => st.condition !== undefined)));
  return v;
}

/**
 * What the identity administration actions (src/iam/admin-actions.ts) work on: the service itself
 * for reads, or one mutating admin call's view of it (IamService.forCall).
 */
export interface IamAdmin {
  readonly accountId: string;
  readonly principals: PrincipalStore;
  readonly accessKeys: AccessKeyStore;
  readonly mfa: MfaStore;
  deleteUser(name: string, force?: boolean): Promise<void>;
}

/** DeleteUser, refusing (DeleteConflict) while the user has keys, policies or MFA devices unless forced. */
async function deleteUser(stores: Pick<IamAdmin, 'principals' | 'mfa'>, name: string, force: boolean): Promise<void> {
  const devices = await stores.mfa.list(name);
  if (force) for (const d of devices) {
    await stores.mfa.deactivate(name, d.serialNumber);
    await stores.mfa.delete(d.serialNumber);
  }
  await stores.principals.deleteUser(name, { force, mfaDeviceCount: force ? 0 : devices.length });
}

export class IamService implements IamAdmin {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly accessKeys: AccessKeyStore;
  readonly principals: PrincipalStore;
  readonly mfa: MfaStore;
  readonly sessions: SessionStore;
  readonly sts: StsService;
  readonly authenticator: Authenticator;
  private readonly clock: () => Date;
  private readonly skewMs: number;

  constructor(o: IamServiceOptions) {
    this.accountId = o.accountId;
    this.region = o.region;
    this.partition = o.partition ?? 'aws';
    this.clock = o.clock ?? (() => new Date());
    this.skewMs = o.skewMs ?? 5 * 60_000;
    const ttl = o.cacheTtlMs ?? DEFAULT_TTL_MS;
    const now = () => this.clock().getTime();
    this.accessKeys = o.accessKeys ?? new AccessKeyStore(o.barrier, ttl, now);
    this.principals = new PrincipalStore(o.barrier, this.accessKeys, { accountId: o.accountId, ttlMs: ttl, clock: this.clock, ...(o.partition ? { partition: o.partition } : {}) });
    this.mfa = new MfaStore(o.barrier, o.accountId, this.clock, o.partition);
    this.sessions = new SessionStore(o.barrier, ttl, now);
    this.sts = new StsService(this.principals, this.sessions, this.mfa, this.clock);
    this.authenticator = new Authenticator(this.accessKeys, this.sessions, this.principals);
  }

  /** Creates the bootstrap administrator (user rekey-admin, AdministratorAccess, one access key) if missing. */
  bootstrap(fixed?: { accessKeyId: string; secretAccessKey: string }) {
    return this.accessKeys.bootstrap(this.accountId, fixed);
  }

  /**
   * Authenticates a SigV4-signed request for `service` ('kms', 'secretsmanager', 'sts', 'iam').
   * `regions` overrides the accepted credential-scope regions (STS also accepts us-east-1).
   */
  authenticate(req: SignedRequest, service: string, regions?: readonly string[]): Promise<Identity> {
    return this.authenticator.authenticate(req, { service, region: regions ?? this.region, skewMs: this.skewMs, now: this.clock() });
  }

  /**
   * Authorizes a KMS operation; throws AccessDeniedException with AWS's message, otherwise returns
   * the decision (which statements allowed it, for the audit trail).
   */
  authorizeKms(identity: Identity, a: KmsAuthorization): Decision {
    return authorizeOrThrow(this.kmsInput(identity, a));
  }

  /**
   * The same evaluation as authorizeKms without throwing: the KMS grants code asks first whether
   * the policies allow, and consults grants only on an implicit deny (an explicit deny always wins).
   */
  decideKms(identity: Identity, a: KmsAuthorization): Decision {
    return authorize(this.kmsInput(identity, a));
  }

  private kmsInput(identity: Identity, a: KmsAuthorization): AuthorizeInput {
    // Most policies have no Condition (the default key policy, AdministratorAccess): then no
    // statement reads the request context and building it would be the largest cost of the check.
    const needed = usesConditions(a.keyPolicy) || identity.identityPolicies.some(usesConditions);
    const context = needed ? kmsContext({ ...a.request, principal: identity, now: this.clock() }) : NO_CONTEXT;
    return {
      principal: identity, action: a.action, resource: a.keyArn, identityPolicies: identity.identityPolicies, context,
      ...(a.keyPolicy !== undefined ? { keyPolicy: a.keyPolicy } : {}), ...(a.grantAllows ? { grantAllows: true } : {}),
    };
  }

  /** Authorizes a call of rekey's admin API (identity policies only), e.g. ("iam:CreateUser", user ARN). */
  authorizeAdmin(identity: Identity, action: string, resource: string, info: RequestInfo = {}): Decision {
    const context = globalContext({ principal: identity, now: this.clock(), ...info });
    return authorizeOrThrow({ principal: identity, action, resource, identityPolicies: identity.identityPolicies, context });
  }

  /**
   * Logs a database client in with an RDS IAM authentication token (what `@aws-sdk/rds-signer`
   * `Signer.getAuthToken()` returns), for the proxy: verifies the presigned SigV4 signature
   * (service rds-db, this server's region, at most 900 s old, session tokens for STS
   * credentials), that the token was made for `dbUser` and one of `expectedHosts`, then authorizes
   * rds-db:connect on `arn:<partition>:rds-db:<region>:<account>:dbuser:<resourceId>/<dbUser>`
   * with the caller's identity policies. Returns the caller; throws IncompleteSignatureException
   * (not a token), AccessDeniedException (other user or endpoint, or no policy allows),
   * InvalidSignatureException (signature, scope, expired), UnrecognizedClientException (unknown
   * or inactive key, bad session token), ExpiredTokenException (expired STS session).
   */
  async authenticateDbToken(input: DbAuthTokenInput): Promise<Identity> {
    const req = dbTokenRequest(input);
    const now = this.clock();
    const identity = await this.authenticator.authenticatePresigned(req, { service: 'rds-db', region: this.region, skewMs: this.skewMs, now, maxExpiresS: DB_TOKEN_MAX_EXPIRES_S });
    const resource = dbUserArn({ partition: this.partition, region: this.region, accountId: this.accountId, resourceId: input.resourceId, dbUser: input.dbUser });
    const context = globalContext({
      principal: identity, now,
      ...(input.sourceIp !== undefined ? { sourceIp: input.sourceIp } : {}),
      ...(input.secureTransport !== undefined ? { secureTransport: input.secureTransport } : {}),
    });
    authorizeOrThrow({ principal: identity, action: DB_CONNECT_ACTION, resource, identityPolicies: identity.identityPolicies, context });
    return identity;
  }

  /** DeleteUser, refusing (DeleteConflict) while the user has keys, policies or MFA devices unless forced. */
  deleteUser(name: string, force = false): Promise<void> {
    return deleteUser(this, name, force);
  }

  /**
   * The identity stores as one mutating admin call sees them (src/storage/gate.ts): the same caches,
   * every write through the call's gated barrier view, so the call's audit event is recorded right
   * before the first write and a refused call (an existing user, a missing role) writes nothing.
   */
  forCall(gate: WriteGate): IamAdmin {
    const accessKeys = this.accessKeys.forCall(gate);
    const stores = { principals: this.principals.forCall(gate, accessKeys), mfa: this.mfa.forCall(gate) };
    return { accountId: this.accountId, accessKeys, ...stores, deleteUser: (name, force = false) => deleteUser(stores, name, force) };
  }
}
