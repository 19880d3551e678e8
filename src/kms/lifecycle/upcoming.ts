// What the key lifecycle will do next (`rekey jobs ls --upcoming`, GET /v1/jobs/upcoming): automatic
// rotations and deletions due before a date, read from the due indexes (src/kms/lifecycle/paths.ts;
// an entry already past its date is a job about to run), and keys whose usage budget is nearly used.
import type { Barrier } from '../../storage/barrier.ts';
import type { KeyStore } from '../keystore.ts';
import type { UsageBudget } from '../model.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, USAGE_PREFIX } from './paths.ts';
import { dueEntries } from './sources.ts';
import type { UsageCounter } from './usage.ts';

export interface UpcomingKeyEvent {
  keyId: string;
  keyArn: string;
  /** ISO 8601: NextRotationDate, or DeletionDate. */
  at: string;
}

export interface BudgetNearLimit {
  keyId: string;
  keyArn: string;
  currentKeyMaterialId: string;
  budget: UsageBudget;
  usage: UsageCounter;
  /** The larger of encryptions / maxEncryptions and bytes / maxBytes (1 = used up: a rotation is requested). */
  fraction: number;
}

export interface UpcomingKeyWork {
  rotations: UpcomingKeyEvent[];
  deletions: UpcomingKeyEvent[];
  budgets: BudgetNearLimit[];
  /** True when a list stopped at `limit`. */
  truncated: boolean;
}

export function budgetFraction(usage: UsageCounter, budget: UsageBudget): number {
  return Math.max(
    budget.maxEncryptions ? usage.encryptions / budget.maxEncryptions : 0,
    budget.maxBytes ? usage.bytes / budget.maxBytes : 0,
  );
}

/** Rotations and deletions due at or before `until`, in date order, and budgets at or over `threshold` (0..1), fullest first. */
export async function upcomingKeyWork(barrier: Barrier, store: KeyStore, o: { until: Date; threshold: number; limit: number }): Promise<UpcomingKeyWork> {
  let truncated = false;
  const read = async (prefix: string): Promise<UpcomingKeyEvent[]> => {
    const out: UpcomingKeyEvent[] = [];
    for await (const e of dueEntries(barrier, prefix, o.until)) {
      if (out.length >= o.limit) {
        truncated = true;
        break;
      }
      const rec = await store.readKey(e.keyId);
      if (rec) out.push({ keyId: e.keyId, keyArn: rec.value.arn, at: e.at });
    }
    return out;
  };
  const rotations = await read(ROTATION_DUE_PREFIX);
  const deletions = await read(DELETION_DUE_PREFIX);

  // kms/usage/<keyId>/<materialId>: only the key's current material counts toward its budget
  const budgets: BudgetNearLimit[] = [];
  const seen = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const keys = await barrier.list(USAGE_PREFIX, { ...(after !== undefined ? { after } : {}), limit: 500 });
    for (const k of keys) {
      const [keyId, materialId] = k.slice(USAGE_PREFIX.length).split('/');
      if (!keyId || !materialId || seen.has(keyId)) continue;
      const rec = (await store.readKey(keyId))?.value;
      if (!rec?.usageBudget || rec.currentMaterialId !== materialId) continue;
      seen.add(keyId);
      const usage = (await barrier.getJSON<UsageCounter>(k))?.value ?? { encryptions: 0, bytes: 0 };
      const fraction = budgetFraction(usage, rec.usageBudget);
      if (fraction >= o.threshold) budgets.push({ keyId, keyArn: rec.arn, currentKeyMaterialId: materialId, budget: rec.usageBudget, usage, fraction });
    }
    if (keys.length < 500) break;
    after = keys[keys.length - 1]!;
  }
  budgets.sort((a, b) => b.fraction - a.fraction);
  if (budgets.length > o.limit) {
    budgets.length = o.limit;
    truncated = true;
  }
  return { rotations, deletions, budgets, truncated };
}
