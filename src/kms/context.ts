// What every KMS operation receives: where it runs (account, region), the key store, the clock and
// the limits; plus the error constructors and key-state rules the operations share.
import { DisabledException, KMSInvalidStateException, NotFoundException } from '../errors.ts';
import type { StructShape } from '../validation/request.ts';
import type { KeyStore } from './keystore.ts';
import { aliasArn, keyArn, type Scope } from './ids.ts';
import { KeyState, type KeyRecord } from './model.ts';
import type { WireResponse } from './wire.ts';
import type { LifecycleHooks } from './lifecycle/hooks.ts';
import type { Identity } from '../iam/identity.ts';
import type { Authz, RequestFacts } from './authz.ts';
import type { GrantStore } from './grants/store.ts';
import type { GrantTokens } from './grants/token.ts';

/** The authenticated principal making the request (the identity component's Identity). */
export type Caller = Identity;

export interface KmsContext extends Scope {
  readonly store: KeyStore;
  readonly grants: GrantStore;
  readonly tokens: GrantTokens;
  readonly clock: () => Date;
  readonly onDemandRotationLimit: number;
  /** Service keys, management guards, dependents, usage budgets (src/kms/lifecycle). Absent: none of them. */
  readonly lifecycle?: LifecycleHooks;
}

/** One request: who asks, over what connection, and the authorization entry points (src/kms/authz.ts). */
export interface KmsCall {
  readonly caller: Caller;
  readonly request: RequestFacts;
  readonly authz: Authz;
}

export interface Operation<Req> {
  /** The X-Amz-Target suffix, e.g. 'Encrypt'. */
  readonly name: string;
  readonly input: StructShape;
  run(ctx: KmsContext, req: Req, call: KmsCall): Promise<WireResponse>;
}

export function operation<Req>(op: Operation<Req>): Operation<Req> {
  return op;
}

export function nowMs(ctx: KmsContext): number {
  return ctx.clock().getTime();
}

// ---- errors with AWS's messages

/** AWS KMS: NotFoundException "Key 'arn:aws:kms:us-east-1:111122223333:key/<id>' does not exist" */
export function keyNotFound(ctx: Scope, keyIdOrArn: string): Error {
  const arn = keyIdOrArn.startsWith('arn:') ? keyIdOrArn : keyArn(ctx, keyIdOrArn);
  return new NotFoundException(`Key '${arn}' does not exist`);
}

/** AWS KMS names the alias ARN: "Alias arn:aws:kms:us-east-1:111122223333:alias/x is not found." */
export function aliasNotFound(ctx: Scope, aliasNameOrArn: string): Error {
  const arn = aliasNameOrArn.startsWith('arn:') ? aliasNameOrArn : aliasArn(ctx, aliasNameOrArn);
  return new NotFoundException(`Alias ${arn} is not found.`);
}

/** AWS KMS: NotFoundException "Invalid keyId 'fake-key-id'" for a value that cannot be a key id. */
export function invalidKeyId(value: string): Error {
  return new NotFoundException(`Invalid keyId '${value}'`);
}

// ---- key states (AWS KMS developer guide, "Key states of AWS KMS keys")

export function pendingDeletion(rec: Pick<KeyRecord, 'arn'>): Error {
  return new KMSInvalidStateException(`${rec.arn} is pending deletion.`);
}

/** Cryptographic operations: a Disabled key -> DisabledException, PendingDeletion -> KMSInvalidStateException. */
export function requireEnabled(rec: Pick<KeyRecord, 'arn' | 'state'>): void {
  if (rec.state === KeyState.Enabled) return;
  if (rec.state === KeyState.Disabled) throw new DisabledException(`${rec.arn} is disabled.`);
  throw pendingDeletion(rec);
}

/** Management operations that work on Enabled and Disabled keys but not on keys pending deletion. */
export function requireNotPendingDeletion(rec: Pick<KeyRecord, 'arn' | 'state'>): void {
  if (rec.state === KeyState.PendingDeletion) throw pendingDeletion(rec);
}
