// The KMS domain's one entry point. The HTTP adapter passes the X-Amz-Target suffix, the parsed
// (untrusted) JSON body, the authenticated caller and the request facts policies can test; it gets
// back the JSON response body. Every operation authorizes its caller (src/kms/authz.ts) before it
// acts.
// Only RekeyError subclasses leave call(): anything unexpected becomes KMSInternalException, with
// the original error attached as `cause` for the adapter's log (never for the client).
import { WriteGate } from '../storage/gate.ts';
import { KMSInternalException, NotFoundException, RekeyError, UnknownOperationException } from '../errors.ts';
import { reportInternalError } from '../diagnostics.ts';
import type { Barrier } from '../storage/barrier.ts';
import { requireEnabled, type Caller, type KmsContext, type Operation } from './context.ts';
import { partitionOf } from './ids.ts';
import { KeyStore } from './keystore.ts';
import { Authz, type RequestFacts } from './authz.ts';
import { GrantStore } from './grants/store.ts';
import { GrantTokens } from './grants/token.ts';
import type { IamService } from '../iam/service.ts';
import { resolveKey } from './resolve.ts';
import { compileRequest, type RequestValidator } from '../validation/request.ts';
import type { WireResponse } from './wire.ts';
import { OPERATIONS } from './operations/index.ts';
import { encryptWith, decryptBlob } from './envelope.ts';
import type { LoadedKey } from './keystore.ts';
import { requestAliasOf } from './resolve.ts';
import type { Identity } from '../iam/identity.ts';
import { KmsLifecycle, type Dependent, type DependentInput, type LifecycleOptions } from './lifecycle/index.ts';
import { authorizeThroughService, createServiceGrant, retireServiceGrant, type ServiceGrantInput } from './service-grants.ts';

export type { Caller } from './context.ts';

/** Who a service (secrets) acts for when it uses a key: authorization with kms:ViaService. */
export interface OnBehalf {
  caller: Identity;
  request: RequestFacts;
  viaService: string;
}
export type { RequestFacts } from './authz.ts';

export interface KmsOptions {
  barrier: Barrier;
  region: string;
  accountId: string;
  clock?: () => Date;
  /** On-demand rotations allowed per key (default 10). */
  onDemandRotationLimit?: number;
  /** Cache lifetime of key records in milliseconds (default 750: changes on other nodes are seen within 1 s). */
  cacheTtlMs?: number;
  /** Monotonic milliseconds the key cache measures its TTL with (tests inject one; default performance.now). */
  cacheClock?: () => number;
  /** Automatic rotation, deletion, service keys, usage budgets, dependents (src/kms/lifecycle, docs/ROTATION.md). */
  lifecycle?: LifecycleOptions;
  /** Authorizes every request: key policies, IAM policies, grants. */
  iam: IamService;
  /**
   * BENCHMARKS ONLY: skip authorization entirely (src/server.ts sets it only when REKEY_AUTH=off and
   * REKEY_BENCH_UNSAFE_NO_AUTH=1). Every caller may then do everything.
   */
  unsafeSkipAuthorization?: boolean;
}

interface Registered {
  op: Operation<unknown>;
  validate?: RequestValidator<unknown>;
}

export class KmsService {
  readonly operations: readonly string[];
  readonly store: KeyStore;
  readonly lifecycle: KmsLifecycle;
  private readonly ctx: KmsContext;
  private readonly registry = new Map<string, Registered>();
  private readonly authzDeps: ConstructorParameters<typeof Authz>[0];

  constructor(opts: KmsOptions) {
    this.store = new KeyStore(opts.barrier, {
      ...(opts.cacheTtlMs !== undefined ? { ttlMs: opts.cacheTtlMs } : {}),
      ...(opts.cacheClock ? { monotonic: opts.cacheClock } : {}),
    });
    const grants = new GrantStore(opts.barrier);
    const tokens = new GrantTokens(opts.barrier);
    this.authzDeps = Object.freeze({ iam: opts.unsafeSkipAuthorization === true ? null : opts.iam, grants, tokens });
    const limit = opts.onDemandRotationLimit ?? 10;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError('onDemandRotationLimit must be a non-negative integer');
    this.lifecycle = new KmsLifecycle({
      barrier: opts.barrier, store: this.store, clock: () => this.ctx.clock(),
      scope: { partition: partitionOf(opts.region), region: opts.region, accountId: opts.accountId },
    }, opts.lifecycle);
    this.ctx = Object.freeze({
      lifecycle: this.lifecycle.hooks,
      store: this.store,
      grants,
      tokens,
      partition: partitionOf(opts.region),
      region: opts.region,
      accountId: opts.accountId,
      clock: opts.clock ?? (() => new Date()),
      onDemandRotationLimit: limit,
    });
    this.lifecycle.bind(this.ctx);
    for (const op of OPERATIONS) this.registry.set(op.name, { op: op as Operation<unknown> });
    this.operations = Object.freeze([...this.registry.keys()].sort());
  }

  async call(operation: string, input: unknown, caller: Caller, request: RequestFacts = {}): Promise<WireResponse> {
    const reg = this.registry.get(operation);
    if (!reg) throw new UnknownOperationException(`Unknown operation ${String(operation).slice(0, 128)}`);
    try {
      reg.validate ??= compileRequest(reg.op.input);
      const req = reg.validate(input);
      // a mutating call's writes first pass the audit gate: unaudited, it changes nothing
      const ctx = request.beforeCommit ? Object.freeze({ ...this.ctx, store: this.store.forCall(new WriteGate(request.beforeCommit)) }) : this.ctx;
      return await reg.op.run(ctx, req, { caller, request, authz: new Authz(this.authzDeps, caller, request) });
    } catch (e) {
      if (e instanceof RekeyError) throw e;
      const err = new KMSInternalException('An internal error occurred.');
      err.cause = e;
      reportInternalError('kms ' + operation, e, request.requestId);
      throw err;
    }
  }

  /**
   * For other rekey components (secrets), which authorize their own callers: resolves any key identifier (key id, key ARN, alias name,
   * alias ARN) to a key that can encrypt and decrypt now, or throws NotFoundException,
   * DisabledException or KMSInvalidStateException exactly as Encrypt would.
   */
  async resolveForUse(keyId: string): Promise<{ keyId: string; arn: string }> {
    const key = await resolveKey(this.ctx, keyId, 'any');
    requireEnabled(key.record);
    return { keyId: key.record.keyId, arn: key.record.arn };
  }

  /**
   * For the secrets component: encrypts under a key (any identifier form). With `onBehalf`, the
   * caller must be allowed kms:GenerateDataKey on a customer managed key, with kms:ViaService set
   * (as AWS Secrets Manager calls KMS for its caller); an AWS managed key is usable by any caller
   * of the account. Throws NotFoundException, DisabledException, KMSInvalidStateException,
   * AccessDeniedException as Encrypt would.
   */
  async encryptInternal(keyIdent: string, plaintext: Uint8Array, context: Record<string, string>, onBehalf?: OnBehalf): Promise<{ blob: Buffer; keyId: string; keyArn: string }> {
    const key = await resolveKey(this.ctx, keyIdent, 'any');
    if (onBehalf && key.record.keyManager !== 'AWS') {
      await new Authz(this.authzDeps, onBehalf.caller, onBehalf.request).key(key, 'kms:GenerateDataKey', { encryptionContext: context, viaService: onBehalf.viaService, requestAlias: requestAliasOf(keyIdent) });
    }
    const fresh = await this.store.getKey(key.record.keyId);
    if (!fresh) throw new NotFoundException(`Key '${key.record.arn}' does not exist`);
    requireEnabled(fresh.record);
    const { blob } = encryptWith(fresh, plaintext, context);
    return { blob, keyId: fresh.record.keyId, keyArn: fresh.record.arn };
  }

  /** For the secrets component: decrypts a blob made by encryptInternal (authorization as there, with kms:Decrypt). */
  async decryptInternal(blob: Buffer, context: Record<string, string>, onBehalf?: OnBehalf): Promise<{ plaintext: Buffer; keyArn: string }> {
    const authorize = async (key: LoadedKey) => {
      if (onBehalf && key.record.keyManager !== 'AWS') {
        await new Authz(this.authzDeps, onBehalf.caller, onBehalf.request).key(key, 'kms:Decrypt', { encryptionContext: context, viaService: onBehalf.viaService });
      }
    };
    const { key, plaintext } = await decryptBlob(this.ctx, blob, context, undefined, authorize);
    return { plaintext, keyArn: key.record.arn };
  }

  /** The AWS managed key behind alias/aws/<service> (e.g. 'secretsmanager'), created on first use. */
  serviceKey(service: string): Promise<{ keyId: string; arn: string; aliasName: string }> {
    return this.lifecycle.serviceKey(service);
  }

  /** For src/db (as RDS): the caller may use the key through the service (src/kms/service-grants.ts). */
  authorizeThroughService(keyIdent: string, actions: readonly string[], onBehalf: OnBehalf): Promise<{ keyId: string; arn: string; keyManager: string }> {
    return authorizeThroughService(this.ctx, this.authzDeps, keyIdent, actions, onBehalf);
  }

  /** For src/db: the service's own grant on a key (visible in ListGrants), idempotent by name. */
  createServiceGrant(keyId: string, input: ServiceGrantInput): Promise<string> {
    return createServiceGrant(this.ctx, keyId, input);
  }

  retireServiceGrant(keyId: string, grantId: string): Promise<boolean> {
    return retireServiceGrant(this.ctx, keyId, grantId);
  }

  /** The id of the key's current material (src/db re-wraps volume keys when it changes); null when the key is gone. */
  async currentMaterialId(keyId: string): Promise<string | null> {
    const key = await this.store.getKey(keyId);
    return key ? key.record.currentMaterialId : null;
  }

  /** Which rekey resources use which key: DisableKey and ScheduleKeyDeletion refuse keys that have any. */
  get dependents(): {
    register(key: string, dependent: DependentInput): Promise<Dependent>;
    unregister(key: string, arn: string): Promise<boolean>;
    list(key: string): Promise<{ keyId: string; dependents: Dependent[] }>;
  } {
    return this.lifecycle.dependents;
  }

  /** Zeroes cached key material (call on shutdown). */
  close(): void {
    this.store.close();
  }
}
