// When the audit trail was last verified. `rekey audit verify` over the store records each run
// (audit/verifications/last); the compliance rule audit-not-verified (src/compliance) reads it.
// The record holds times and counts only.
import type { Barrier } from '../storage/barrier.ts';

export const LAST_VERIFICATION_PATH = 'audit/verifications/last';

export interface VerificationRecord {
  /** ISO time of the run. */
  at: string;
  ok: boolean;
  problems: number;
  nodes: number;
  events: number;
  /** Whether a trusted key from outside the store (--public-key) was used. */
  pinnedKey: boolean;
}

export async function recordVerification(barrier: Barrier, rec: VerificationRecord): Promise<void> {
  await barrier.putJSON(LAST_VERIFICATION_PATH, rec);
}

export async function lastVerification(barrier: Barrier): Promise<VerificationRecord | null> {
  return (await barrier.getJSON<VerificationRecord>(LAST_VERIFICATION_PATH))?.value ?? null;
}
