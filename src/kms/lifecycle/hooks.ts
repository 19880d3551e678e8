// What the KMS operations ask of the key lifecycle (KmsContext.lifecycle). Types only, so that
// context.ts can name them without importing the lifecycle's code.
import type { KeyRecord } from '../model.ts';

/** Customer-facing operations that AWS managed keys refuse (and, for two of them, dependents too). */
export type ManagedOperation =
  | 'DisableKey' | 'ScheduleKeyDeletion' | 'PutKeyPolicy' | 'RotateKeyOnDemand'
  | 'EnableKeyRotation' | 'DisableKeyRotation' | 'CreateAlias' | 'UpdateAlias';

/** The operations refused while a key has dependents (unless an administrator forces them). */
export type DependentGuardedOperation = 'DisableKey' | 'ScheduleKeyDeletion';

/** A rekey resource that uses a KMS key (a secret now; snapshots and encrypted columns later). */
export interface DependentInput {
  type: 'secret' | 'snapshot' | 'column' | (string & {});
  /** The dependent resource's ARN: it identifies the registration (registering it again updates it). */
  arn: string;
  name: string;
}

export interface Dependent extends DependentInput {
  keyId: string;
  registeredAt: number;
}

/** Emitted after a rotation or deletion job committed (for the audit trail). */
export interface KeyEvent {
  type: 'RotateKey' | 'DeleteKey';
  keyArn: string;
  keyId: string;
  /** RotateKey: the new current key material. */
  materialId?: string;
  /** RotateKey: what started it: the automatic schedule or a usage budget. */
  trigger?: 'schedule' | 'budget';
  at: Date;
}

export interface LifecycleHooks {
  /**
   * Called by identifier resolution when an `alias/aws/<service>` alias does not exist: creates the
   * AWS managed key for a predefined service alias and returns its key id; null for any other name.
   */
  serviceKeyFor(aliasName: string): Promise<string | null>;
  /**
   * Refuses `operation` on an AWS managed key, and DisableKey / ScheduleKeyDeletion on a key with
   * dependents. Synchronous: call it inside KeyStore.updateKey's mutate, so the check and the
   * write are one compare-and-swap. `known` is the dependents list read just before (to name them).
   */
  guard(rec: KeyRecord, operation: ManagedOperation, known?: readonly Dependent[]): void;
  /** The key's registered dependents ([] when none). */
  dependentsOf(keyId: string): Promise<Dependent[]>;
  /** Counts one encryption of `bytes` bytes under the key's current material (usage budgets). */
  recordUse(rec: KeyRecord, bytes: number): void;
}
