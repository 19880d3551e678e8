// Continuous evaluation as a durable scheduled job (docs/JOBS.md): the schedule source
// 'compliance.schedule' offers one 'compliance.evaluate' job per period (dedupe key
// compliance.evaluate/<period start>), so however many nodes scan, each period is evaluated once;
// a crash mid-evaluation reruns the one step (it only reads, then overwrites the latest result).
//
//   compliance/evaluations/latest   { at, findings, byRule, ... } of the last scheduled evaluation
//
// The evaluation changes nothing it evaluates; it writes only its own result.
import type { Barrier } from '../storage/barrier.ts';
import type { KindOptions, StepHandler } from '../jobs/kinds.ts';
import type { Job } from '../jobs/model.ts';
import type { DueItem, ScheduleSource } from '../jobs/scheduler.ts';
import type { Finding } from './rules.ts';

export const KIND_EVALUATE = 'compliance.evaluate';
export const SOURCE_NAME = 'compliance.schedule';
export const LATEST_PATH = 'compliance/evaluations/latest';

export interface EvaluateJobData {
  /** ISO start of the period this job evaluates. */
  period: string;
}

export interface EvaluationRecord {
  at: string;
  period: string;
  findings: Finding[];
  byRule: Record<string, number>;
}

export interface JobRegistry {
  registerKind<D>(kind: string, handler: StepHandler<D>, opts?: KindOptions): void;
  addSource(source: ScheduleSource): void;
}

/** One job per `periodMs` slot, offered on every scan until it exists. */
export function evaluationSource(periodMs: number): ScheduleSource {
  return {
    name: SOURCE_NAME,
    due({ now }): DueItem<EvaluateJobData>[] {
      const slot = new Date(Math.floor(now.getTime() / periodMs) * periodMs).toISOString();
      return [{ kind: KIND_EVALUATE, target: 'compliance', data: { period: slot }, dedupeKey: `${KIND_EVALUATE}/${slot}`, maxAttempts: 5 }];
    },
  };
}

export function evaluateHandler(evaluateAll: (now: Date) => Promise<Finding[]>, onEvaluated?: (r: EvaluationRecord) => void): StepHandler<EvaluateJobData> {
  return async (job: Readonly<Job<EvaluateJobData>>, ctx) => {
    const now = ctx.now();
    const findings = await evaluateAll(now);
    const byRule: Record<string, number> = {};
    for (const f of findings) byRule[f.ruleId] = (byRule[f.ruleId] ?? 0) + 1;
    const rec: EvaluationRecord = { at: now.toISOString(), period: job.data.period, findings, byRule };
    await writeLatest(ctx.barrier, rec);
    onEvaluated?.(rec);
    return { done: true };
  };
}

async function writeLatest(barrier: Barrier, rec: EvaluationRecord): Promise<void> {
  // a later period's result is never replaced by an earlier one (a retried old job)
  const cur = await barrier.getJSON<EvaluationRecord>(LATEST_PATH);
  if (cur && cur.value.period > rec.period) return;
  await barrier.putJSON(LATEST_PATH, rec);
}

export async function latestEvaluation(barrier: Barrier): Promise<EvaluationRecord | null> {
  return (await barrier.getJSON<EvaluationRecord>(LATEST_PATH))?.value ?? null;
}
