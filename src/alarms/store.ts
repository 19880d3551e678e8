// Alarm rules, states and notification targets, stored behind the barrier:
//
//   alarms/rules/<name>     AlarmRule (a user rule, or a built-in's replacement)
//   alarms/state/<name>     StateRecord: OK/ALARM, since, reason, the newest HISTORY_MAX transitions
//   alarms/targets/<name>   TargetRecord (a webhook's signing secret is stored here only)
import { randomBytes } from '../crypto/index.ts';
import { ResourceNotFoundException, ValidationException } from '../errors.ts';
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { BUILTIN_RULES, COMPARISONS, METRIC_NAME, RULE_NAME, type AlarmRule, type AlarmStateName, type EventPattern, type FieldMatch } from './model.ts';

export const RULES = 'alarms/rules/';
export const STATES = 'alarms/state/';
export const TARGETS = 'alarms/targets/';
export const HISTORY_MAX = 100;

export interface Transition {
  time: string;
  from: AlarmStateName;
  to: AlarmStateName;
  reason: string;
}

export interface StateRecord {
  state: AlarmStateName;
  since: string;
  reason: string;
  /** Event rules: when the last matching event was seen (ms). */
  lastMatch?: number;
  history: Transition[];
}

export type TargetRecord =
  | { v: 1; name: string; type: 'webhook'; url: string; signingSecret: string; created: string }
  | { v: 1; name: string; type: 'syslog'; host: string; port: number; created: string };

export type TargetView = { name: string; type: 'webhook'; url: string; created: string } | { name: string; type: 'syslog'; host: string; port: number; created: string };

export interface TargetOptions {
  /** Development and tests only: also accept http:// webhook URLs to the loopback address. */
  allowHttpLoopback?: boolean;
}

export function publicTarget(t: TargetRecord): TargetView {
  return t.type === 'webhook' ? { name: t.name, type: t.type, url: t.url, created: t.created } : { name: t.name, type: t.type, host: t.host, port: t.port, created: t.created };
}

export function checkWebhookUrl(raw: string, o: TargetOptions): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ValidationException('The webhook url is not a valid URL.');
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  if (u.username || u.password) throw new ValidationException('The webhook url must not carry credentials.');
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && loopback && o.allowHttpLoopback) return u;
  throw new ValidationException('The webhook url must use https (http only to the loopback address, when alarms.webhookHttpLoopback is set).');
}

function checkMatch(field: string, m: FieldMatch | undefined): void {
  if (m === undefined) return;
  if (Array.isArray(m)) {
    if (m.length === 0) throw new ValidationException(`pattern.${field} must list at least one value.`);
  }
}

/** Checks what a JSON schema cannot (the route schema checked the shape); returns the rule to store. */
export function checkRule(rule: AlarmRule): AlarmRule {
  if (!RULE_NAME.test(rule.name)) throw new ValidationException('An alarm name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.');
  if (rule.kind === 'event') {
    const p: EventPattern = rule.pattern;
    if (p.eventSource === undefined && p.eventName === undefined && p.errorCode === undefined) throw new ValidationException('An event rule\'s pattern names at least one of eventSource, eventName, errorCode.');
    checkMatch('eventSource', p.eventSource);
    checkMatch('eventName', p.eventName);
    checkMatch('errorCode', p.errorCode);
  } else {
    if (!METRIC_NAME.test(rule.metric)) throw new ValidationException(`${JSON.stringify(rule.metric).slice(0, 80)} is not a Prometheus metric name.`);
    if (!COMPARISONS.includes(rule.comparison)) throw new ValidationException(`comparison must be one of ${COMPARISONS.join(', ')}.`);
    if (!Number.isFinite(rule.threshold)) throw new ValidationException('threshold must be a finite number.');
  }
  return rule;
}

export class AlarmStore {
  constructor(private readonly barrier: BarrierView, private readonly opts: TargetOptions = {}, private readonly clock: () => Date = () => new Date()) {}

  /** The store as one mutating admin call sees it: writes pass the call's audit gate first. */
  forCall(gate: WriteGate): AlarmStore {
    return new AlarmStore(gatedBarrier(this.barrier, gate), this.opts, this.clock);
  }

  /** Every rule in effect: built-ins (or their stored replacements), then user rules, by name. */
  async rules(): Promise<(AlarmRule & { builtIn: boolean })[]> {
    const stored = new Map<string, AlarmRule>();
    for (const k of await this.barrier.list(RULES)) {
      const r = (await this.barrier.getJSON<AlarmRule>(k))?.value;
      if (r) stored.set(r.name, r);
    }
    const out: (AlarmRule & { builtIn: boolean })[] = [];
    for (const b of BUILTIN_RULES) out.push({ ...(stored.get(b.name) ?? b), builtIn: true });
    for (const [name, r] of [...stored].sort(([a], [b]) => (a < b ? -1 : 1))) if (!BUILTIN_RULES.some((b) => b.name === name)) out.push({ ...r, builtIn: false });
    return out;
  }

  async rule(name: string): Promise<(AlarmRule & { builtIn: boolean }) | null> {
    return (await this.rules()).find((r) => r.name === name) ?? null;
  }

  async putRule(rule: AlarmRule): Promise<void> {
    await this.barrier.putJSON(RULES + rule.name, checkRule(rule));
  }

  /** Removes a user rule and its state, or a built-in's replacement (the built-in applies again). */
  async deleteRule(name: string): Promise<{ builtIn: boolean }> {
    if (!RULE_NAME.test(name)) throw new ResourceNotFoundException(`No alarm named ${name}.`);
    const builtIn = BUILTIN_RULES.some((b) => b.name === name);
    const had = await this.barrier.delete(RULES + name);
    if (!had && !builtIn) throw new ResourceNotFoundException(`No alarm named ${name}.`);
    if (!had) throw new ValidationException(`${name} is a built-in alarm with no stored replacement; put it with "enabled": false to turn it off.`);
    if (!builtIn) await this.barrier.delete(STATES + name);
    return { builtIn };
  }

  async state(name: string): Promise<{ rec: StateRecord; version: number } | null> {
    const r = await this.barrier.getJSON<StateRecord>(STATES + name);
    return r ? { rec: r.value, version: r.version } : null;
  }

  /** Writes a state record under compare-and-swap (expectVersion 0: must not exist). */
  async putState(name: string, rec: StateRecord, expectVersion: number): Promise<void> {
    await this.barrier.putJSON(STATES + name, rec, { expectVersion });
  }

  async putTarget(input: { name: string; type: 'webhook'; url: string } | { name: string; type: 'syslog'; host: string; port: number }): Promise<{ target: TargetView; signingSecret?: string }> {
    if (!RULE_NAME.test(input.name)) throw new ValidationException('A target name is 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit.');
    const created = this.clock().toISOString();
    let rec: TargetRecord;
    if (input.type === 'webhook') {
      checkWebhookUrl(input.url, this.opts);
      // a replaced webhook keeps its secret only when its URL is unchanged
      const old = (await this.barrier.getJSON<TargetRecord>(TARGETS + input.name))?.value;
      const keep = old?.type === 'webhook' && old.url === input.url ? old.signingSecret : undefined;
      rec = { v: 1, name: input.name, type: 'webhook', url: input.url, signingSecret: keep ?? randomBytes(32).toString('base64url'), created };
      await this.barrier.putJSON(TARGETS + input.name, rec);
      return { target: publicTarget(rec), ...(keep === undefined ? { signingSecret: rec.signingSecret } : {}) };
    }
    rec = { v: 1, name: input.name, type: 'syslog', host: input.host, port: input.port, created };
    await this.barrier.putJSON(TARGETS + input.name, rec);
    return { target: publicTarget(rec) };
  }

  async target(name: string): Promise<TargetRecord | null> {
    if (!RULE_NAME.test(name)) return null;
    return (await this.barrier.getJSON<TargetRecord>(TARGETS + name))?.value ?? null;
  }

  async targets(): Promise<TargetRecord[]> {
    const out: TargetRecord[] = [];
    for (const k of await this.barrier.list(TARGETS)) {
      const t = (await this.barrier.getJSON<TargetRecord>(k))?.value;
      if (t) out.push(t);
    }
    return out;
  }

  async deleteTarget(name: string): Promise<void> {
    if (!RULE_NAME.test(name) || !(await this.barrier.delete(TARGETS + name))) throw new ResourceNotFoundException(`No alarm notification target named ${name}.`);
  }
}
