// `rekey alarms ls|show|put|rm` and `rekey alarms target ls|put|rm`: a running server's /v1/alarms
// (src/http/admin-alarms.ts, docs/ALARMS.md). Thin: one signed request per call, printed as a table
// (default) or JSON (--output json).
import { type Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.ts';
import { adminCall, connection, connectionOptions, type AdminConnection, type ConnectionFlags } from './admin-client.ts';
import { outputOption, table } from './output.ts';

export { table };

export interface AlarmsIo {
  out(text: string): void;
  env: Record<string, string | undefined>;
}

interface AlarmRow { name: string; kind: string; builtIn: boolean; enabled: boolean; state: string; since: string | null; reason: string | null }
interface Described {
  alarm: Record<string, unknown> & { name: string; kind: string; description: string; enabled: boolean; periodSeconds: number };
  state: { state: string; since: string | null; reason: string | null };
  history: { time: string; from: string; to: string; reason: string }[];
}
interface TargetRow { name: string; type: string; url?: string; host?: string; port?: number; created: string }

export function formatAlarms(alarms: AlarmRow[]): string {
  if (alarms.length === 0) return 'no alarms\n';
  return table([['NAME', 'KIND', 'STATE', 'ENABLED', 'SINCE', 'REASON'], ...alarms.map((a) => [a.name + (a.builtIn ? '*' : ''), a.kind, a.state, a.enabled ? 'yes' : 'no', a.since ?? '-', a.reason ?? ''])]) + '* built-in\n';
}

export function formatAlarm(d: Described): string {
  const a = d.alarm;
  const lines = [`${a.name}  ${a.kind}  ${d.state.state}${d.state.since ? ` since ${d.state.since}` : ''}${a.enabled ? '' : '  (disabled)'}`, `  ${a.description}`];
  if (a.kind === 'event') lines.push(`  pattern ${JSON.stringify(a['pattern'])}; back to OK after ${a.periodSeconds} s without a match`);
  else lines.push(`  ${String(a['metric'])}${JSON.stringify(a['labels'])} ${String(a['statistic'])}${a['statistic'] === 'increase' ? ` over ${a.periodSeconds} s` : ''} ${String(a['comparison'])} ${String(a['threshold'])}`);
  if (d.state.reason) lines.push(`  reason: ${d.state.reason}`);
  lines.push(d.history.length ? 'history (newest first):' : 'no state changes yet');
  for (const h of d.history) lines.push(`  ${h.time}  ${h.from} -> ${h.to}  ${h.reason}`);
  return lines.join('\n') + '\n';
}

export function formatTargets(targets: TargetRow[]): string {
  if (targets.length === 0) return 'no notification targets\n';
  return table([['NAME', 'TYPE', 'DESTINATION', 'CREATED'], ...targets.map((t) => [t.name, t.type, t.type === 'webhook' ? (t.url ?? '') : `${t.host}:${t.port}`, t.created])]);
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** The rule body of `rekey alarms put` from --file / --json, or from the flags. */
export function ruleFromFlags(o: Record<string, unknown>): Record<string, unknown> {
  if (o['file'] !== undefined || o['json'] !== undefined) {
    const text = o['file'] !== undefined ? readFileSync(String(o['file']), 'utf8') : String(o['json']);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ConfigurationError('the alarm rule is not valid JSON');
    }
  }
  const common = {
    ...(o['description'] !== undefined ? { description: o['description'] } : {}),
    ...(o['disabled'] ? { enabled: false } : {}),
    ...(o['period'] !== undefined ? { periodSeconds: Number(o['period']) } : {}),
  };
  if (o['metric'] !== undefined) {
    const labels: Record<string, string | string[]> = {};
    for (const kv of (o['label'] as string[] | undefined) ?? []) {
      const i = kv.indexOf('=');
      if (i < 1) throw new ConfigurationError(`--label ${kv}: expected name=value`);
      const [name, value] = [kv.slice(0, i), kv.slice(i + 1)];
      const had = labels[name];
      labels[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value]; // repeated: any of
    }
    const threshold = Number(o['threshold']);
    if (o['threshold'] === undefined || !Number.isFinite(threshold)) throw new ConfigurationError('a metric alarm needs --threshold <number>');
    return { kind: 'metric', metric: o['metric'], labels, statistic: o['statistic'] ?? 'value', comparison: o['comparison'] ?? 'GreaterThanThreshold', threshold,
      ...(o['treatMissingData'] !== undefined ? { treatMissingData: o['treatMissingData'] } : {}), ...common };
  }
  const pattern: Record<string, unknown> = {};
  if (o['eventSource']) pattern['eventSource'] = o['eventSource'];
  if (o['eventName']) pattern['eventName'] = o['eventName'];
  if (o['errorCode']) pattern['errorCode'] = o['errorCode'];
  if (o['anyError']) pattern['errorCode'] = { exists: true };
  if (Object.keys(pattern).length === 0) throw new ConfigurationError('give --metric (a metric alarm), --event-source/--event-name/--error-code (an event alarm), --file or --json');
  return { kind: 'event', pattern, ...common };
}

export function registerAlarmsCommands(program: Command, io: AlarmsIo = { out: (s) => process.stdout.write(s), env: process.env }): Command {
  const alarms = connectionOptions(program.command('alarms').description('Alarms on audit events and metrics, their state and history, notification targets (docs/ALARMS.md)'));
  const conn = (cmd: Command): AdminConnection => connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env);
  const call = <T>(cmd: Command, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: object): Promise<T> =>
    adminCall<T>(conn(cmd), { method, path, ...(body ? { body } : {}), timeoutMs: 30_000 });
  const output = outputOption;
  const print = (o: { output: string }, v: unknown, text: () => string) => io.out(o.output === 'json' ? JSON.stringify(v, null, 2) + '\n' : text());
  const one = (name: string) => `/v1/alarms/${encodeURIComponent(name)}`;
  const target = (name: string) => `/v1/alarms/targets/${encodeURIComponent(name)}`;

  alarms.command('ls').description('List alarms with their state').addOption(output())
    .action(async (o: { output: string }, cmd: Command) => {
      const v = await call<{ alarms: AlarmRow[] }>(cmd, 'GET', '/v1/alarms');
      print(o, v, () => formatAlarms(v.alarms));
    });
  alarms.command('show <name>').description('One alarm: rule, state and history').addOption(output())
    .action(async (name: string, o: { output: string }, cmd: Command) => {
      const v = await call<Described>(cmd, 'GET', one(name));
      print(o, v, () => formatAlarm(v));
    });
  alarms.command('put <name>').description('Create or replace an alarm (a built-in\'s name replaces the built-in)')
    .option('--file <path>', 'the rule as JSON (see docs/ALARMS.md)')
    .option('--json <rule>', 'the rule as a JSON string')
    .option('--event-source <names>', 'event alarm: eventSource values (comma-separated, repeatable)', list)
    .option('--event-name <names>', 'event alarm: eventName values', list)
    .option('--error-code <codes>', 'event alarm: errorCode values', list)
    .option('--any-error', 'event alarm: any event with an errorCode')
    .option('--metric <name>', 'metric alarm: the Prometheus metric name')
    .option('--label <name=value>', 'metric alarm: a label the series must have (repeatable; the same name twice: any of)', (v: string, p: string[] = []) => [...p, v])
    .addOption(new Option('--statistic <s>', 'metric alarm: value, or increase over the period').choices(['value', 'increase']))
    .addOption(new Option('--comparison <op>', 'metric alarm: comparison with the threshold').choices(['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold']))
    .option('--threshold <number>', 'metric alarm: the threshold')
    .addOption(new Option('--treat-missing-data <how>', 'metric alarm: no such series counts as missing (state unchanged), notBreaching or breaching').choices(['missing', 'notBreaching', 'breaching']))
    .option('--period <seconds>', 'event alarm: quiet time before OK; metric increase: the window (default 300)')
    .option('--description <text>', 'what the alarm means')
    .option('--disabled', 'store it turned off')
    .addOption(output())
    .action(async (name: string, o: Record<string, unknown> & { output: string }, cmd: Command) => {
      const v = await call<{ alarm: { name: string; kind: string } }>(cmd, 'PUT', one(name), ruleFromFlags(o));
      print(o, v, () => `alarm ${v.alarm.name} (${v.alarm.kind}) stored\n`);
    });
  alarms.command('rm <name>').description('Delete an alarm (a built-in\'s replacement: the built-in applies again)').addOption(output())
    .action(async (name: string, o: { output: string }, cmd: Command) => {
      const v = await call<{ builtIn: boolean }>(cmd, 'DELETE', one(name));
      print(o, v, () => (v.builtIn ? `alarm ${name}: the built-in rule applies again\n` : `alarm ${name} deleted\n`));
    });

  const targets = alarms.command('target').description('Notification targets: signed webhooks and syslog');
  targets.command('ls').description('List notification targets').addOption(output())
    .action(async (o: { output: string }, cmd: Command) => {
      const v = await call<{ targets: TargetRow[] }>(cmd, 'GET', '/v1/alarms/targets');
      print(o, v, () => formatTargets(v.targets));
    });
  targets.command('put <name>').description('Create or replace a target: --webhook <https-url> or --syslog <host:port>')
    .option('--webhook <url>', 'POST each state change, signed with HMAC-SHA256 (docs/ALARMS.md)')
    .option('--syslog <host:port>', 'send each state change as an RFC 5424 message over TCP')
    .addOption(output())
    .action(async (name: string, o: { webhook?: string; syslog?: string; output: string }, cmd: Command) => {
      if ((o.webhook === undefined) === (o.syslog === undefined)) throw new ConfigurationError('give one of --webhook <url> or --syslog <host:port>');
      let body: object;
      if (o.webhook !== undefined) body = { type: 'webhook', url: o.webhook };
      else {
        const m = /^(.+):(\d{1,5})$/.exec(o.syslog!);
        if (!m) throw new ConfigurationError(`--syslog ${o.syslog}: expected host:port`);
        body = { type: 'syslog', host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
      }
      const v = await call<{ target: TargetRow; signingSecret?: string }>(cmd, 'PUT', target(name), body);
      print(o, v, () => `target ${v.target.name} (${v.target.type}) stored${v.signingSecret ? `\nsigning secret (shown once): ${v.signingSecret}` : ''}\n`);
    });
  targets.command('rm <name>').description('Remove a notification target').addOption(output())
    .action(async (name: string, o: { output: string }, cmd: Command) => {
      const v = await call<object>(cmd, 'DELETE', target(name));
      print(o, v, () => `target ${name} removed\n`);
    });
  return alarms;
}
