// The key-dependency registry: which rekey resources use each KMS key (secrets now; snapshots and
// encrypted columns later). DisableKey and ScheduleKeyDeletion on a key with dependents are
// refused, naming them, unless an administrator forces them through the admin API.
//
//   kms/dependents/<keyId>/<sha256(arn) hex>   Dependent (one per dependent resource ARN)
//   key record: dependentCount                 written in the same transaction as every entry
//
// The count on the key record is what makes the guard exact: DisableKey checks it inside the key
// record's compare-and-swap, so a registration that lands between the check and the write makes
// DisableKey's write fail and run again, now seeing the dependent.
import { sha256, zeroize } from '../../crypto/index.ts';
import { KMSInvalidStateException, ValidationException } from '../../errors.ts';
import { Barrier } from '../../storage/barrier.ts';
import type { Op } from '../../storage/backend.ts';
import { keyPath, type KeyStore } from '../keystore.ts';
import { KeyState, type KeyRecord } from '../model.ts';
import type { Dependent, DependentGuardedOperation, DependentInput } from './hooks.ts';
import { dependentsPrefix } from './paths.ts';

const TYPE = /^[a-z][a-z0-9-]{0,31}$/;
/** Dependents named in one error message; the rest are counted. */
const NAMED_IN_ERRORS = 10;

export const dependentPath = (keyId: string, arn: string): string => dependentsPrefix(keyId) + sha256(arn).toString('hex');

function checkInput(d: DependentInput): DependentInput {
  if (typeof d?.type !== 'string' || !TYPE.test(d.type)) throw new ValidationException('dependent type must be 1 to 32 lowercase letters, digits or dashes (for example "secret")');
  if (typeof d.arn !== 'string' || d.arn.length === 0 || d.arn.length > 2048) throw new ValidationException('dependent arn must be a string of 1 to 2048 characters');
  if (typeof d.name !== 'string' || d.name.length > 512) throw new ValidationException('dependent name must be a string of at most 512 characters');
  return { type: d.type, arn: d.arn, name: d.name };
}

/** "secret db-password (arn:...)", ... for error messages. */
export function describeDependents(deps: readonly Dependent[], total: number): string {
  const named = deps.slice(0, NAMED_IN_ERRORS).map((d) => `${d.type} ${d.name ? `${d.name} ` : ''}(${d.arn})`);
  const more = total - named.length;
  return named.join(', ') + (more > 0 ? `${named.length > 0 ? ' and ' : ''}${more} more` : '');
}

/**
 * KMSInvalidStateException (the error DisableKey and ScheduleKeyDeletion already model, so SDKs raise
 * a typed error) when the key has dependents. `known` is the list read before the compare-and-swap;
 * the count on the record is authoritative.
 */
export function requireNoDependents(rec: Pick<KeyRecord, 'arn' | 'keyId' | 'dependentCount'>, operation: DependentGuardedOperation, known: readonly Dependent[]): void {
  const total = rec.dependentCount ?? 0;
  if (total === 0) return;
  const what = operation === 'DisableKey' ? 'disabled' : 'scheduled for deletion';
  const route = operation === 'DisableKey' ? 'disable' : 'schedule-deletion';
  // `known` is empty only when a dependent registered between the listing and this check.
  const list = known.length > 0 ? describeDependents(known, total) : `run "rekey kms dependents ${rec.keyId}" to list them`;
  throw new KMSInvalidStateException(
    `${rec.arn} cannot be ${what}: ${total} rekey resource${total === 1 ? ' uses' : 's use'} it: ${list}. ` +
    `Move them to another key first, or have an administrator override with POST /v1/kms/keys/${rec.keyId}/${route} {"force": true}.`,
  );
}

export class Dependents {
  constructor(
    private readonly barrier: Barrier,
    private readonly store: KeyStore,
    /** Any key identifier (id, ARN, alias) -> key id; NotFoundException when there is no such key. */
    private readonly resolve: (ident: string) => Promise<string>,
    /** The NotFoundException of a key id. */
    private readonly missing: (keyId: string) => Error,
    private readonly clock: () => Date,
  ) {}

  /**
   * Records that `dep` uses the key. Registering the same ARN again updates its type and name.
   * Refused (KMSInvalidStateException) on a key pending deletion: nothing new may start to depend
   * on a key that is about to be destroyed.
   */
  async register(key: string, input: DependentInput): Promise<Dependent> {
    const d = checkInput(input);
    const keyId = await this.resolve(key);
    return this.store.retry(async () => {
      const rec = await this.mustRead(keyId);
      if (rec.value.state === KeyState.PendingDeletion) throw new KMSInvalidStateException(`${rec.value.arn} is pending deletion.`);
      const path = dependentPath(keyId, d.arn);
      const existing = await this.barrier.getJSON<Dependent>(path);
      const dep: Dependent = { ...d, keyId, registeredAt: existing?.value.registeredAt ?? this.clock().getTime() };
      const ops: Op[] = [Barrier.putOp(path, dep, existing ? existing.version : 0)];
      if (!existing) ops.push(Barrier.putOp(keyPath(keyId), { ...rec.value, dependentCount: (rec.value.dependentCount ?? 0) + 1 }, rec.version));
      await this.commit(keyId, ops);
      return dep;
    });
  }

  /** Removes a registration; false when there was none. Works on any key state, and after the key is gone. */
  async unregister(key: string, arn: string): Promise<boolean> {
    const keyId = await this.resolve(key).catch(() => (key.startsWith('arn:') ? key.slice(key.lastIndexOf('/') + 1) : key));
    return this.store.retry(async () => {
      const path = dependentPath(keyId, arn);
      const existing = await this.barrier.getJSON<Dependent>(path);
      if (!existing) return false;
      const ops: Op[] = [{ type: 'delete', key: path, expectVersion: existing.version }];
      const rec = await this.store.readKey(keyId);
      if (rec) ops.push(Barrier.putOp(keyPath(keyId), { ...rec.value, dependentCount: Math.max(0, (rec.value.dependentCount ?? 0) - 1) }, rec.version));
      await this.commit(keyId, ops);
      return true;
    });
  }

  /** The dependents of a key given by any identifier. */
  async list(key: string): Promise<{ keyId: string; dependents: Dependent[] }> {
    const keyId = await this.resolve(key);
    return { keyId, dependents: await this.listByKeyId(keyId) };
  }

  async listByKeyId(keyId: string): Promise<Dependent[]> {
    const keys = await this.barrier.list(dependentsPrefix(keyId));
    const got = await Promise.all(keys.map((k) => this.barrier.getJSON<Dependent>(k)));
    return got.flatMap((g) => (g ? [g.value] : [])).sort((a, b) => a.registeredAt - b.registeredAt || (a.arn < b.arn ? -1 : 1));
  }

  private async mustRead(keyId: string): Promise<{ value: KeyRecord; version: number }> {
    const rec = await this.store.readKey(keyId);
    if (!rec) throw this.missing(keyId);
    return rec;
  }

  private async commit(keyId: string, ops: Op[]): Promise<void> {
    try {
      await this.barrier.transaction(ops);
    } finally {
      for (const op of ops) if (op.type === 'put') zeroize(op.value); // the key record carries its materials
      this.store.invalidateKey(keyId);
    }
  }
}
