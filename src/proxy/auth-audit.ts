// Which client authentications of the proxy become audit events of their own (docs/PROXY.md,
// "Audit"). Every connection authenticates, so recording each success floods the trail (13,630 of
// 20,000 events in one load run). The mode `proxy.auditAuth` (REKEY_PROXY_AUDIT_AUTH):
//   failures  (default) every failure is an event; successes are only counted
//   sample:N  every failure, and the 1st, N+1th, 2N+1th... success of each target
//   all       every authentication is an event
// In every mode but `all`, each target with authentications in a period gets one summary event
// (ClientAuthenticationSummary: how many succeeded, failed, and were recorded one by one).
import { ConfigurationError } from '../errors.ts';

export type AuthAuditMode = { kind: 'all' } | { kind: 'failures' } | { kind: 'sample'; every: number };

export function parseAuthAuditMode(value: string): AuthAuditMode {
  if (value === 'all' || value === 'failures') return { kind: value };
  const m = /^sample:(\d{1,9})$/.exec(value);
  if (m && Number(m[1]) >= 1) return { kind: 'sample', every: Number(m[1]) };
  throw new ConfigurationError(`proxy.auditAuth (REKEY_PROXY_AUDIT_AUTH) must be all, failures or sample:N with N >= 1; got ${JSON.stringify(value.slice(0, 64))}`);
}

/** One target's client authentications in one period. */
export interface AuthSummary {
  target: string;
  succeeded: number;
  failed: number;
  /** How many of them were recorded as events of their own. */
  recorded: number;
}

export class AuthAuditPolicy {
  private period = new Map<string, AuthSummary>();
  private readonly successes = new Map<string, number>();

  constructor(readonly mode: AuthAuditMode) {}

  /** Counts one authentication for the summary; true when it is recorded as an event of its own. */
  admit(target: string, ok: boolean): boolean {
    let s = this.period.get(target);
    if (!s) this.period.set(target, (s = { target, succeeded: 0, failed: 0, recorded: 0 }));
    if (ok) s.succeeded++;
    else s.failed++;
    let record: boolean;
    if (!ok || this.mode.kind === 'all') record = true;
    else if (this.mode.kind === 'failures') record = false;
    else {
      const n = this.successes.get(target) ?? 0;
      this.successes.set(target, n + 1);
      record = n % this.mode.every === 0;
    }
    if (record) s.recorded++;
    return record;
  }

  /** The period's summaries (targets with at least one authentication), and a new period. None in mode `all`. */
  drain(): AuthSummary[] {
    const out = [...this.period.values()];
    this.period = new Map();
    return this.mode.kind === 'all' ? [] : out;
  }
}
