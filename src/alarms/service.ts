// AlarmService: evaluates the rules (model.ts) and acts on state changes.
//
//   audit events  AuditLog.observe hands every durably written batch to onRecords: a record matching
//                 an enabled event rule puts that alarm in ALARM at once (events of rekey.alarms itself
//                 never match, so a transition cannot feed itself).
//   evaluate()    periodic (alarms.evaluationSeconds) and callable: metric rules read this node's
//                 series through the MetricReader port and compare; event rules in ALARM return to OK
//                 once periodSeconds passed without a matching event.
//   a transition  is recorded as the service event AlarmStateChanged (eventSource rekey.alarms) before
//                 the state record is written (compare-and-swap), then one durable alarms.notify job per
//                 notification target delivers it (notify.ts: signed webhook or syslog, with retries).
import { serviceEvent, type AuditEvent, type AuditRecord } from '../audit/index.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { Barrier } from '../storage/barrier.ts';
import { breaches, matches, type AlarmRule, type AlarmStateName, type EventRule, type MetricRule } from './model.ts';

const RULES_TTL_MS = 1000;
const LAST_MATCH_MS = 10_000;
import { notifyHandler, NOTIFY_KIND, type NotifyData, type Notification, type Senders } from './notify.ts';
import { AlarmStore, HISTORY_MAX, type StateRecord, type TargetOptions } from './store.ts';

/** One series of a metric: its labels and value (src/server/alarms.ts reads them from the Prometheus registry). */
export interface MetricSample {
  labels: Record<string, string | number>;
  value: number;
}

/** How the alarms read this node's metrics (a port: the metrics module is not imported here). */
export interface MetricReader {
  read(metric: string): Promise<MetricSample[] | null>;
}

export interface AlarmServiceOptions {
  barrier: Barrier;
  jobs: Pick<JobEngine, 'enqueue' | 'registerKind'>;
  audit: { append(e: AuditEvent): Promise<void> };
  metrics?: MetricReader;
  region: string;
  accountId: string;
  clock?: () => Date;
  targets?: TargetOptions & { timeoutMs?: number };
  senders?: Partial<Senders>;
  log?: (msg: string) => void;
}

export class AlarmService {
  readonly store: AlarmStore;
  private readonly clock: () => Date;
  private lane: Promise<unknown> = Promise.resolve();
  /** Metric rules with statistic "increase": recent samples (ms, value), oldest first. */
  private readonly samples = new Map<string, { t: number; v: number }[]>();
  private readonly log: (msg: string) => void;
  /** The enabled event rules, re-read at most every RULES_TTL_MS (the audit path never waits for storage). */
  private eventRules: { at: number; rules: EventRule[] } | null = null;
  /** Rules this node last saw in ALARM and when it last wrote their lastMatch (ms): a storm writes every LAST_MATCH_MS at most. */
  private readonly inAlarm = new Map<string, number>();

  constructor(private readonly o: AlarmServiceOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.store = new AlarmStore(o.barrier, o.targets ?? {}, this.clock);
    this.log = o.log ?? (() => {});
  }

  /** Registers the alarms.notify job kind (before jobs.start()). */
  register(senders: Senders): void {
    this.o.jobs.registerKind<NotifyData>(NOTIFY_KIND, notifyHandler(this.store, senders), { backoff: { baseMs: 2000, factor: 2, maxMs: 5 * 60_000, jitter: 0.2 } });
  }

  /** Runs fn after everything already queued (transitions of one node never interleave). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lane.then(fn);
    this.lane = p.catch((e: unknown) => this.log(`alarms: ${e instanceof Error ? e.message : String(e)}`));
    return p;
  }

  /** Resolves once every transition started so far is recorded and its notifications enqueued (tests await it). */
  async settled(): Promise<void> {
    await this.lane;
  }

  /**
   * The AuditLog observer: synchronous, never throws. With the rules cached (at most RULES_TTL_MS old)
   * a batch without a match costs a few comparisons and no storage access; matches run on the lane.
   */
  onRecords(records: readonly AuditRecord[]): void {
    const events = records.map((r) => r.event).filter((e) => e.eventSource !== 'rekey.alarms');
    if (events.length === 0) return;
    const now = this.clock().getTime();
    const cached = this.eventRules && now - this.eventRules.at < RULES_TTL_MS && now >= this.eventRules.at ? this.eventRules.rules : null;
    const match = (rules: EventRule[]) => {
      const hits: { rule: EventRule; event: AuditEvent }[] = [];
      for (const rule of rules) {
        const event = events.find((e) => matches(rule.pattern, e));
        // already in ALARM with a recent lastMatch: nothing to write yet
        if (event && !((this.inAlarm.get(rule.name) ?? -Infinity) > now - LAST_MATCH_MS)) hits.push({ rule, event });
      }
      return hits;
    };
    if (cached && match(cached).length === 0) return;
    void this.serial(async () => {
      for (const { rule, event: e } of match(await this.cachedEventRules())) {
        try {
          await this.transition(rule, 'ALARM', `${e.eventSource} ${e.eventName}${e.errorCode ? ` ${e.errorCode}` : ''} (event ${e.eventID})`, this.clock().getTime());
          this.inAlarm.set(rule.name, this.clock().getTime());
        } catch (err) {
          // not recorded (the audit write failed, say): the next matching event tries again
          this.log(`alarms: ${rule.name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        }
      }
    });
  }

  private async cachedEventRules(): Promise<EventRule[]> {
    const now = this.clock().getTime();
    if (this.eventRules && now - this.eventRules.at < RULES_TTL_MS && now >= this.eventRules.at) return this.eventRules.rules;
    const rules = (await this.store.rules()).filter((r): r is EventRule & { builtIn: boolean } => r.enabled && r.kind === 'event');
    this.eventRules = { at: now, rules };
    return rules;
  }

  /** Forgets the cached rules (a rule was put or deleted through this node). */
  rulesChanged(): void {
    this.eventRules = null;
  }

  /** One evaluation of every enabled rule; returns the transitions made. */
  evaluate(): Promise<{ name: string; to: AlarmStateName }[]> {
    return this.serial(async () => {
      const now = this.clock().getTime();
      const changed: { name: string; to: AlarmStateName }[] = [];
      for (const rule of await this.store.rules()) {
        if (!rule.enabled) continue;
        try {
          const to = await this.evaluateOne(rule, now);
          if (to) changed.push({ name: rule.name, to });
        } catch (e) {
          this.log(`alarms: ${rule.name}: evaluation failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }
      return changed;
    });
  }

  /** One rule: the state it moved to, or null. */
  private async evaluateOne(rule: AlarmRule, now: number): Promise<AlarmStateName | null> {
    if (rule.kind === 'event') {
      const s = (await this.store.state(rule.name))?.rec;
      if (s?.state === 'ALARM' && (s.lastMatch ?? 0) + rule.periodSeconds * 1000 <= now) {
        this.inAlarm.delete(rule.name);
        if (await this.transition(rule, 'OK', `no matching event for ${rule.periodSeconds} s`)) return 'OK';
      }
      return null;
    }
    const v = await this.metricValue(rule, now);
    const missing = rule.treatMissingData ?? 'missing';
    if (v === null && missing === 'missing') return null; // no such series on this node: no data, state unchanged
    const to: AlarmStateName = (v === null ? missing === 'breaching' : breaches(rule.comparison, v, rule.threshold)) ? 'ALARM' : 'OK';
    const reason = v === null
      ? `no ${rule.metric} series with ${JSON.stringify(rule.labels)} (treated as ${missing})`
      : `${rule.metric}${rule.statistic === 'increase' ? ` increase over ${rule.periodSeconds} s` : ''} = ${v} (${rule.comparison} ${rule.threshold})`;
    return (await this.transition(rule, to, reason)) ? to : null;
  }

  private async metricValue(rule: MetricRule, now: number): Promise<number | null> {
    const series = await this.o.metrics?.read(rule.metric);
    if (!series) return null;
    const chosen = series.filter((s) => Object.entries(rule.labels).every(([k, v]) => (Array.isArray(v) ? v.includes(String(s.labels[k])) : String(s.labels[k]) === v)));
    if (chosen.length === 0 && rule.statistic === 'value') return null;
    const current = chosen.reduce((sum, s) => sum + s.value, 0);
    if (rule.statistic === 'value') return current;
    // increase: against the newest sample at least periodSeconds old; counters start at 0 with the process
    const window = rule.periodSeconds * 1000;
    const list = this.samples.get(rule.name) ?? [];
    let base = 0;
    while (list.length > 0 && list[0]!.t <= now - window) base = list.shift()!.v;
    if (list.length === 0 && base !== 0) list.push({ t: now - window, v: base });
    list.push({ t: now, v: current });
    this.samples.set(rule.name, list);
    return Math.max(0, current - base);
  }

  /**
   * Moves an alarm to `to` (an event match also refreshes lastMatch while in ALARM). Records the
   * AlarmStateChanged event first; a failed audit write leaves the state unchanged. Returns whether it changed.
   */
  private async transition(rule: AlarmRule, to: AlarmStateName, reason: string, matchedAt?: number): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const cur = await this.store.state(rule.name);
      const from: AlarmStateName = cur?.rec.state ?? 'OK';
      const now = this.clock();
      if (from === to) {
        if (matchedAt !== undefined && cur) {
          try {
            await this.store.putState(rule.name, { ...cur.rec, lastMatch: matchedAt }, cur.version);
          } catch (e) {
            if ((e as Error).name === 'CasConflict') continue;
            throw e;
          }
        }
        if (!cur) await this.store.putState(rule.name, { state: to, since: now.toISOString(), reason, history: [] }, 0).catch(() => undefined);
        return false;
      }
      const time = now.toISOString();
      const rec: StateRecord = {
        state: to, since: time, reason, ...(matchedAt !== undefined ? { lastMatch: matchedAt } : {}),
        history: [{ time, from, to, reason }, ...(cur?.rec.history ?? [])].slice(0, HISTORY_MAX),
      };
      await this.o.audit.append(serviceEvent({
        service: 'alarms', eventName: 'AlarmStateChanged', region: this.o.region, accountId: this.o.accountId, now,
        resources: [this.arn(rule.name)], details: { alarmName: rule.name, oldState: from, newState: to, reason },
      }));
      try {
        await this.store.putState(rule.name, rec, cur?.version ?? 0);
      } catch (e) {
        if ((e as Error).name === 'CasConflict') continue; // another node moved it: look again
        throw e;
      }
      await this.notify(rule, { from, to, reason, time });
      return true;
    }
    return false;
  }

  arn(name: string): string {
    return `arn:aws:rekey:${this.o.region}:${this.o.accountId}:alarm/${name}`;
  }

  private async notify(rule: AlarmRule, t: { from: AlarmStateName; to: AlarmStateName; reason: string; time: string }): Promise<void> {
    const n: Notification = {
      AlarmName: rule.name, AlarmArn: this.arn(rule.name), AlarmDescription: rule.description,
      OldStateValue: t.from, NewStateValue: t.to, NewStateReason: t.reason, StateChangeTime: t.time,
      Region: this.o.region, AWSAccountId: this.o.accountId,
      Trigger: rule.kind === 'event'
        ? { kind: 'event', pattern: rule.pattern, periodSeconds: rule.periodSeconds }
        : { kind: 'metric', metric: rule.metric, labels: rule.labels, statistic: rule.statistic, comparison: rule.comparison, threshold: rule.threshold, periodSeconds: rule.periodSeconds, ...(rule.treatMissingData ? { treatMissingData: rule.treatMissingData } : {}) },
    };
    const body = JSON.stringify(n);
    for (const target of await this.store.targets()) {
      await this.o.jobs.enqueue<NotifyData>({
        kind: NOTIFY_KIND, target: `alarm/${rule.name}`, data: { target: target.name, body, alarm: rule.name, state: t.to },
        dedupeKey: `alarms.notify/${rule.name}/${t.time}/${t.to}/${target.name}`,
      });
    }
  }
}
