// The compliance component: on-demand reports (signed) and the scheduled evaluation.
//   const compliance = new ComplianceService({ barrier, region, accountId, ports, settings });
//   compliance.register(jobs);                       // before jobs.start()
//   await compliance.report('pci-dss', { from, to }); // evaluated now, signed with the audit key
import { ValidationException } from '../errors.ts';
import { DigestSigner } from '../audit/digest.ts';
import type { Barrier } from '../storage/barrier.ts';
import { type FactPorts, gatherFacts } from './facts.ts';
import { type EvaluateJobData, type EvaluationRecord, type JobRegistry, KIND_EVALUATE, evaluateHandler, evaluationSource } from './job.ts';
import { type ComplianceReport, type ReportSigner, buildReport, signReport } from './report.ts';
import { type Finding, evaluate } from './rules.ts';
import { type ComplianceSettings, settingsOf } from './settings.ts';
import type { Standard } from './standards.ts';

const DAY_MS = 86_400_000;
/** Default report window: the last 90 days of audit events. */
export const DEFAULT_WINDOW_DAYS = 90;

export interface ComplianceDeps {
  barrier: Barrier;
  region: string;
  accountId: string;
  ports: FactPorts;
  settings?: Partial<ComplianceSettings>;
  clock?: () => Date;
  /** Default: the audit signing key (DigestSigner.loadOrCreate). */
  signer?: () => Promise<ReportSigner>;
  onEvaluated?: (r: EvaluationRecord) => void;
}

export class ComplianceService {
  readonly settings: ComplianceSettings;
  private readonly clock: () => Date;

  constructor(private readonly deps: ComplianceDeps) {
    this.settings = settingsOf(deps.settings);
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Every rule over the current state (the scheduled job's evaluation; evidence from the last day of events). */
  async evaluateAll(now: Date = this.clock()): Promise<Finding[]> {
    const facts = await gatherFacts({ ...this.base(), from: new Date(now.getTime() - DAY_MS), to: now });
    return evaluate(facts, this.settings, now);
  }

  /** The signed report of one standard; audit events (rotation history, use) from `from` to `to`. */
  async report(standard: Standard, window: { from?: Date; to?: Date } = {}): Promise<ComplianceReport> {
    const now = this.clock();
    const to = window.to ?? now;
    const from = window.from ?? new Date(to.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
    if (from.getTime() > to.getTime()) throw new ValidationException('from must not be after to');
    const facts = await gatherFacts({ ...this.base(), from, to });
    const signer = await (this.deps.signer ?? (() => DigestSigner.loadOrCreate(this.deps.barrier)))();
    return signReport(buildReport(facts, standard, this.settings, now), signer);
  }

  register(jobs: JobRegistry): void {
    jobs.registerKind<EvaluateJobData>(KIND_EVALUATE, evaluateHandler((now) => this.evaluateAll(now), this.deps.onEvaluated), { backoff: { baseMs: 30_000, maxMs: 15 * 60_000 } });
    jobs.addSource(evaluationSource(this.settings.evaluateEveryMinutes * 60_000));
  }

  private base() {
    return { barrier: this.deps.barrier, region: this.deps.region, accountId: this.deps.accountId, ports: this.deps.ports };
  }
}
