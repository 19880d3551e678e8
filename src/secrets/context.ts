// What every Secrets Manager operation receives: the secret store (gated by the audit commit gate
// for mutating calls), the caller, authorization, value encryption under KMS, the clock, and the
// rotation hooks. Errors carry AWS Secrets Manager's exception names and messages.
import { CasConflict, isValidKey, type Op } from '../storage/backend.ts';
import type { Barrier } from '../storage/barrier.ts';
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import {
  AccessDeniedException, DecryptionFailure, EncryptionFailure, InvalidRequestException, RekeyError, ResourceNotFoundException,
  ValidationException,
} from '../errors.ts';
import type { KmsService, RequestFacts } from '../kms/service.ts';
import type { Identity } from '../iam/identity.ts';
import type { StructShape } from '../validation/request.ts';
import { authorize, accessDeniedMessage } from '../iam/policy/evaluate.ts';
import { globalContext, type ContextRecord } from '../iam/policy/context.ts';
import { randomInt, zeroize } from '../crypto/index.ts';
import { secretPath, valueContext, valuePath, SECRET_PREFIX, type SecretRecord, type StoredValue, type VersionMeta } from './model.ts';

export interface Scope {
  partition: string;
  region: string;
  accountId: string;
}

/** Hooks the rotation engine provides to the operations (src/secrets/rotation/). */
export interface RotationHooks {
  /** Throws AWS's error when RotationLambdaARN names neither a built-in strategy nor a webhook. */
  resolve(lambdaArn: string): Promise<unknown>;
  /** Enqueues the rotation job for `versionId` (idempotent per secret and version); returns the job id. */
  enqueue(rec: SecretRecord, versionId: string, lambdaArn: string): Promise<string>;
  /** Whether the rotation job is still queued or running. */
  isActive(jobId: string): Promise<boolean>;
  /** Cancels the job in flight, if any. */
  cancel(jobId: string): Promise<void>;
  /** Storage ops for the rotation / deletion due indexes when a record changes. */
  indexOps(before: SecretRecord | null, after: SecretRecord | null): Op[];
}

export interface SecretsDeps extends Scope {
  barrier: Barrier;
  kms: KmsService;
  /** null: authorization off (benchmarks only). */
  authorize: boolean;
  clock: () => Date;
  rotation: RotationHooks;
  /** How long GetSecretValue(AWSCURRENT) waits for a switching rotation (default 5000 ms). */
  switchWaitMs: number;
}

export interface SecretsCall {
  readonly caller: Identity;
  readonly request: RequestFacts;
}

export interface Operation<Req> {
  readonly name: string;
  readonly input: StructShape;
  run(ctx: SecretsContext, req: Req, call: SecretsCall): Promise<Record<string, unknown>>;
}

export function operation<Req>(op: Operation<Req>): Operation<Req> {
  return op;
}

// ---- AWS messages

export const NOT_FOUND = "Secrets Manager can't find the specified secret.";
export const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
export const DECRYPTION_FAILURE = "Secrets Manager can't decrypt the protected secret text using the provided KMS key.";
export const ENCRYPTION_FAILURE = "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state.";

export const notFound = (): Error => new ResourceNotFoundException(NOT_FOUND);

/** AWS's answer to a secret name (CreateSecret) or name-form SecretId with a character no name can have. */
export const INVALID_NAME = 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!';
/** Characters of a name-form SecretId: a name's (`A-Za-z0-9/_+=.@-`) and `!` of service-managed names (`rds!db-...`). */
const SECRET_ID_NAME = /^[A-Za-z0-9/_+=.@!-]+$/;

/**
 * A SecretId that is not an ARN and has a character outside the name alphabet is
 * ValidationException "Invalid name...", on every operation (LocalStack
 * tests/aws/services/secretsmanager/test_secretsmanager.snapshot.json, test_invalid_secret_name:
 * ex_log_1..10 cover CreateSecret, DeleteSecret, DescribeSecret, GetSecretValue,
 * ListSecretVersionIds, PutSecretValue, TagResource, UntagResource, UpdateSecret,
 * ValidateResourcePolicy with names holding a space, `*`, `?`, `]`, `\`).
 */
export function checkSecretId(secretId: string): void {
  if (!secretId.startsWith('arn:') && !SECRET_ID_NAME.test(secretId)) throw new ValidationException(INVALID_NAME);
}

export function requireNotDeleted(rec: SecretRecord): void {
  if (rec.deleted !== undefined) throw new InvalidRequestException(MARKED_FOR_DELETION);
}

/**
 * A request that makes a version without ClientRequestToken. The SDKs and the CLI always fill it
 * in (idempotencyToken in the service model); a hand-made request without it is refused, as
 * recorded for CreateSecret, UpdateSecret, PutSecretValue (with a SecretString) and RotateSecret:
 * LocalStack test_secretsmanager.snapshot.json, test_no_client_request_token[<operation>],
 * "no-client-request-exc": 400 {"__type": "InvalidRequestException", "Message": ...}.
 */
export function requireClientRequestToken(token: string | undefined): void {
  if (token === undefined) throw new InvalidRequestException('You must provide a ClientRequestToken value. We recommend a UUID-type value.');
}

export const epochSeconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface Loaded {
  rec: SecretRecord;
  version: number;
}

export class SecretsContext {
  /** What this context reads and writes through: the barrier, or a mutating call's gated view of it. */
  readonly barrier: BarrierView;

  constructor(readonly deps: SecretsDeps, private readonly gate?: WriteGate) {
    this.barrier = gate ? gatedBarrier(deps.barrier, gate) : deps.barrier;
  }

  /** The context of one mutating call: its writes first pass the call's audit gate (src/storage/gate.ts). */
  forCall(gate: WriteGate | undefined): SecretsContext {
    return gate ? new SecretsContext(this.deps, gate) : this;
  }

  now(): number {
    return this.deps.clock().getTime();
  }

  newArn(name: string): string {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)];
    const d = this.deps;
    return `arn:${d.partition}:secretsmanager:${d.region}:${d.accountId}:secret:${name}-${suffix}`;
  }

  get viaService(): string {
    return `secretsmanager.${this.deps.region}.amazonaws.com`;
  }

  // ---- reading

  async byName(name: string): Promise<Loaded | null> {
    // A name that cannot be a storage key (NUL, tab, DEL, non-ASCII, too long) names no secret:
    // CreateSecret never stores one. AWS answers such a SecretId with ResourceNotFoundException.
    if (!isValidKey(secretPath(name))) return null;
    const got = await this.deps.barrier.getJSON<SecretRecord>(secretPath(name));
    return got ? { rec: got.value, version: got.version } : null;
  }

  /** A SecretId (name, full ARN or ARN without the random suffix), or null. */
  async find(secretId: string): Promise<Loaded | null> {
    const d = this.deps;
    const prefix = `arn:${d.partition}:secretsmanager:${d.region}:${d.accountId}:secret:`;
    if (secretId.startsWith('arn:')) {
      if (!secretId.startsWith(prefix)) return null;
      const rest = secretId.slice(prefix.length);
      // An ARN ending in "-" and six letters or digits is taken as complete, as AWS does: a partial
      // ARN of a secret whose name itself ends that way finds nothing (LocalStack
      // test_secretsmanager.snapshot.json, test_create_and_update_secret[Invalid/_+=.@-Name-a1b2c3-False]
      // "resource_not_found_dict_1"; the API reference warns of exactly this).
      if (rest.length > 7 && /-[A-Za-z0-9]{6}$/.test(rest)) {
        const full = await this.byName(rest.slice(0, -7));
        return full && full.rec.arn === secretId ? full : null;
      }
      const partial = await this.byName(rest);
      return partial && partial.rec.arn.startsWith(`${prefix}${rest}-`) ? partial : null;
    }
    return this.byName(secretId);
  }

  async require(secretId: string): Promise<Loaded> {
    checkSecretId(secretId);
    const got = await this.find(secretId);
    if (!got) throw notFound();
    return got;
  }

  async list(after: string | undefined, limit: number): Promise<SecretRecord[]> {
    const keys = await this.deps.barrier.list(SECRET_PREFIX, { ...(after !== undefined ? { after: SECRET_PREFIX + after } : {}), limit });
    const out: SecretRecord[] = [];
    for (const k of keys) {
      const got = await this.deps.barrier.getJSON<SecretRecord>(k);
      if (got) out.push(got.value);
    }
    return out;
  }

  // ---- writing

  /** Passes the call's audit gate (once); every write of a mutating call comes after it. */
  async passGate(partial?: unknown): Promise<void> {
    await this.gate?.pass(partial);
  }

  /** Writes the record (CAS on `expect`; 0 = must not exist) with extra ops, after the audit gate. */
  async commit(rec: SecretRecord | null, name: string, expect: number, before: SecretRecord | null, extra: Op[] = [], partial?: unknown): Promise<void> {
    await this.passGate(partial);
    const ops: Op[] = [];
    if (rec) ops.push({ type: 'put', key: secretPath(name), value: Buffer.from(JSON.stringify(rec)), expectVersion: expect });
    else ops.push({ type: 'delete', key: secretPath(name), expectVersion: expect });
    ops.push(...extra, ...this.deps.rotation.indexOps(before, rec));
    await this.barrier.transaction(ops);
  }

  /** Runs `fn` again when a concurrent write won the compare-and-swap. */
  async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof CasConflict) || i >= 20) throw e;
      }
    }
  }

  // ---- authorization

  /**
   * AWS Secrets Manager authorization: an explicit deny anywhere wins; otherwise the caller's
   * identity policies or the secret's resource policy may allow (same account).
   */
  authorize(call: SecretsCall, action: string, rec: SecretRecord | null): void {
    if (!this.deps.authorize) return;
    const resource = rec ? rec.arn : '*';
    const context: ContextRecord = {
      ...globalContext({ principal: call.caller, now: this.deps.clock(), ...(call.request.sourceIp ? { sourceIp: call.request.sourceIp } : {}), ...(call.request.secureTransport !== undefined ? { secureTransport: call.request.secureTransport } : {}) }),
    };
    if (rec) {
      context['secretsmanager:secretid'] = rec.arn;
      for (const t of rec.tags) {
        context[`secretsmanager:resourcetag/${t.Key.toLowerCase()}`] = t.Value;
        context[`aws:resourcetag/${t.Key.toLowerCase()}`] = t.Value;
      }
    }
    const base = { principal: call.caller, action, resource, identityPolicies: call.caller.identityPolicies, context };
    if (!rec?.policy) {
      const d = authorize(base);
      if (!d.allowed) throw new AccessDeniedException(accessDeniedMessage(d, call.caller.arn, action, resource));
      return;
    }
    const withPolicy = authorize({ ...base, keyPolicy: rec.policy });
    if (withPolicy.allowed) return;
    if (withPolicy.reason !== 'explicitDeny' && call.caller.accountId === this.deps.accountId && authorize(base).allowed) return;
    throw new AccessDeniedException(accessDeniedMessage(withPolicy.reason === 'explicitDeny' ? withPolicy : { ...withPolicy, policyType: 'identity' }, call.caller.arn, action, resource));
  }

  // ---- values

  /** The key new versions use: the secret's KmsKeyId or the AWS managed key alias/aws/secretsmanager. */
  async keyFor(kmsKeyId: string | undefined): Promise<string> {
    if (kmsKeyId !== undefined) return kmsKeyId;
    return (await this.deps.kms.serviceKey('secretsmanager')).arn;
  }

  async encrypt(rec: SecretRecord, versionId: string, plaintext: Uint8Array, call: SecretsCall | null): Promise<{ op: Op; keyArn: string }> {
    const keyRef = rec.kmsKeyId ?? rec.keyArn;
    let out: { blob: Buffer; keyArn: string };
    try {
      out = await this.deps.kms.encryptInternal(keyRef, plaintext, valueContext(rec.arn, versionId), call ? { caller: call.caller, request: call.request, viaService: this.viaService } : undefined);
    } catch (e) {
      throw kmsFailure(e, 'encrypt');
    }
    const stored: StoredValue = { blob: out.blob.toString('base64') };
    return { op: { type: 'put', key: valuePath(rec.uid, versionId), value: Buffer.from(JSON.stringify(stored)) }, keyArn: out.keyArn };
  }

  /** The plaintext of a version (the caller zeroes it): the current ciphertext, else one under a previous key. */
  async decrypt(rec: SecretRecord, v: VersionMeta, call: SecretsCall | null): Promise<Buffer> {
    const got = await this.deps.barrier.getJSON<StoredValue>(valuePath(rec.uid, v.id));
    if (!got) throw new DecryptionFailure(DECRYPTION_FAILURE);
    const onBehalf = call ? { caller: call.caller, request: call.request, viaService: this.viaService } : undefined;
    let first: unknown;
    for (const blob of [got.value.blob, ...(got.value.previous ?? [])]) {
      try {
        return (await this.deps.kms.decryptInternal(Buffer.from(blob, 'base64'), valueContext(rec.arn, v.id), onBehalf)).plaintext;
      } catch (e) {
        first ??= e;
      }
    }
    throw kmsFailure(first, 'decrypt');
  }

  /**
   * A KMS key change (UpdateSecret KmsKeyId): AWSCURRENT, AWSPENDING and AWSPREVIOUS are encrypted
   * again under the new key, keeping the old ciphertexts, so either key decrypts them. A version the
   * caller cannot decrypt under the old key is left as it is (AWS does the same).
   */
  async reencryptOps(rec: SecretRecord, call: SecretsCall): Promise<Op[]> {
    const ops: Op[] = [];
    for (const v of Object.values(rec.versions)) {
      if (!v.stages.some((s) => s === 'AWSCURRENT' || s === 'AWSPENDING' || s === 'AWSPREVIOUS')) continue;
      const got = await this.deps.barrier.getJSON<StoredValue>(valuePath(rec.uid, v.id));
      if (!got) continue;
      let plain: Buffer;
      try {
        plain = await this.decrypt(rec, v, call);
      } catch {
        continue;
      }
      try {
        const { op, keyArn } = await this.encrypt(rec, v.id, plain, call);
        const fresh = JSON.parse(Buffer.from((op as { value: Uint8Array }).value).toString('utf8')) as StoredValue;
        const stored: StoredValue = { blob: fresh.blob, previous: [got.value.blob, ...(got.value.previous ?? [])].slice(0, 4) };
        ops.push({ type: 'put', key: valuePath(rec.uid, v.id), value: Buffer.from(JSON.stringify(stored)), expectVersion: got.version });
        v.keyArn = keyArn;
      } finally {
        zeroize(plain);
      }
    }
    return ops;
  }

  /** The value as the wire returns it. */
  async wireValue(rec: SecretRecord, v: VersionMeta, call: SecretsCall | null): Promise<{ SecretString?: string; SecretBinary?: string }> {
    const p = await this.decrypt(rec, v, call);
    try {
      return v.kind === 'string' ? { SecretString: p.toString('utf8') } : { SecretBinary: p.toString('base64') };
    } finally {
      zeroize(p);
    }
  }
}

/** KMS errors seen through Secrets Manager. */
export function kmsFailure(e: unknown, what: 'encrypt' | 'decrypt'): Error {
  if (e instanceof AccessDeniedException) return new AccessDeniedException('Access to KMS is not allowed');
  if (e instanceof RekeyError && e.fault === 'client') return what === 'encrypt' ? new EncryptionFailure(ENCRYPTION_FAILURE) : new DecryptionFailure(DECRYPTION_FAILURE);
  return e as Error;
}
