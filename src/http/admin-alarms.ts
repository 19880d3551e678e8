// Admin routes for alarms (docs/ALARMS.md), as data (admin-routes.ts). Adapts src/alarms; decides nothing itself.
//
//   GET    /v1/alarms                  -> { alarms: [{ name, kind, builtIn, enabled, state, since, reason, description }] }  rekey:ListAlarms
//   GET    /v1/alarms/:name            -> { alarm: rule + builtIn, state: { state, since, reason }, history: Transition[] }   rekey:DescribeAlarm
//   PUT    /v1/alarms/:name  rule      -> { alarm }                                                 rekey:PutAlarm
//   DELETE /v1/alarms/:name            -> { builtIn }                                               rekey:DeleteAlarm
//   GET    /v1/alarms/targets          -> { targets: [{ name, type, url | host+port, created }] }   rekey:ListAlarmTargets
//   PUT    /v1/alarms/targets/:name {type: webhook, url} | {type: syslog, host, port}
//                                      -> { target, signingSecret? } (the secret only when new)     rekey:PutAlarmTarget
//   DELETE /v1/alarms/targets/:name    -> {}                                                        rekey:DeleteAlarmTarget
// Resources: arn:aws:rekey:<region>:<account>:alarm/<name>, alarm-target/<name> (alarm/*, alarm-target/* for listings).
import type { AlarmService } from '../alarms/service.ts';
import { COMPARISONS, type AlarmRule, type Comparison, type EventPattern } from '../alarms/model.ts';
import { publicTarget, type AlarmStore } from '../alarms/store.ts';
import { ResourceNotFoundException, ValidationException } from '../errors.ts';
import type { RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

const NAME = '^(?!targets$)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME } } } as const;
const targetParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME.replace('(?!targets$)', '') } } } as const;
const matcher = {
  anyOf: [
    { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 128 } },
    { type: 'object', additionalProperties: false, required: ['exists'], properties: { exists: { type: 'boolean' } } },
  ],
} as const;
const ruleBody = {
  type: 'object', additionalProperties: false, required: ['kind'],
  properties: {
    name: { type: 'string' }, // the path's name wins; accepted so `alarms show --output json` can be put back
    builtIn: { type: 'boolean' },
    kind: { enum: ['event', 'metric'] },
    description: { type: 'string', maxLength: 512 },
    enabled: { type: 'boolean' },
    periodSeconds: { type: 'integer', minimum: 10, maximum: 30 * 86_400 },
    pattern: { type: 'object', additionalProperties: false, properties: { eventSource: matcher, eventName: matcher, errorCode: matcher } },
    metric: { type: 'string', minLength: 1, maxLength: 200 },
    labels: {
      type: 'object', maxProperties: 16,
      additionalProperties: { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', maxLength: 256 } }] },
    },
    statistic: { enum: ['value', 'increase'] },
    comparison: { enum: [...COMPARISONS] },
    threshold: { type: 'number' },
    treatMissingData: { enum: ['missing', 'notBreaching', 'breaching'] },
  },
} as const;
const targetBody = {
  type: 'object', additionalProperties: false, required: ['type'],
  properties: {
    type: { enum: ['webhook', 'syslog'] },
    url: { type: 'string', minLength: 1, maxLength: 2048 },
    host: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:-]+$' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
  },
} as const;

/** The rule a PUT body describes (the schema checked its shape; this checks what belongs to each kind). */
export function ruleOf(name: string, i: AdminInput): AlarmRule {
  const base = {
    name, description: typeof i['description'] === 'string' ? i['description'] : '', enabled: i['enabled'] !== false,
    periodSeconds: typeof i['periodSeconds'] === 'number' ? i['periodSeconds'] : 300,
  };
  if (i['kind'] === 'event') {
    if (i['pattern'] === undefined) throw new ValidationException('An event alarm needs a pattern (eventSource, eventName and/or errorCode).');
    for (const k of ['metric', 'labels', 'statistic', 'comparison', 'threshold', 'treatMissingData']) if (i[k] !== undefined) throw new ValidationException(`${k} belongs to metric alarms, not event alarms.`);
    return { ...base, kind: 'event', pattern: i['pattern'] as EventPattern };
  }
  if (i['pattern'] !== undefined) throw new ValidationException('pattern belongs to event alarms, not metric alarms.');
  if (typeof i['metric'] !== 'string' || typeof i['comparison'] !== 'string' || typeof i['threshold'] !== 'number') throw new ValidationException('A metric alarm needs metric, comparison and threshold.');
  return {
    ...base, kind: 'metric', metric: i['metric'], labels: (i['labels'] as Record<string, string | string[]> | undefined) ?? {},
    statistic: i['statistic'] === 'increase' ? 'increase' : 'value', comparison: i['comparison'] as Comparison, threshold: i['threshold'],
    ...(i['treatMissingData'] !== undefined ? { treatMissingData: i['treatMissingData'] as 'missing' | 'notBreaching' | 'breaching' } : {}),
  };
}

export function alarmRoutes(alarms: Pick<AlarmService, 'store' | 'rulesChanged'>, scope: { region: string; accountId: string }): AdminRoute[] {
  const arn = (kind: 'alarm' | 'alarm-target', name: string) => `arn:aws:rekey:${scope.region}:${scope.accountId}:${kind}/${name}`;
  const nameOf = (i: AdminInput) => String(i['name'] ?? '');
  const store = (request: RequestFacts): AlarmStore => alarms.store.forCall(new WriteGate(request.beforeCommit ?? (async () => {})));
  return [
    {
      method: 'GET', url: '/v1/alarms', action: 'rekey:ListAlarms', summary: 'Alarms (built-in and user rules) with their state', audit: [], resource: () => arn('alarm', '*'),
      run: async () => {
        const out = [];
        for (const r of await alarms.store.rules()) {
          const s = (await alarms.store.state(r.name))?.rec;
          out.push({ name: r.name, kind: r.kind, builtIn: r.builtIn, enabled: r.enabled, state: s?.state ?? 'OK', since: s?.since ?? null, reason: s?.reason ?? null, description: r.description });
        }
        return { alarms: out };
      },
    },
    {
      method: 'GET', url: '/v1/alarms/targets', action: 'rekey:ListAlarmTargets', summary: 'Alarm notification targets (without signing secrets)', audit: [], resource: () => arn('alarm-target', '*'),
      run: async () => ({ targets: (await alarms.store.targets()).map(publicTarget) }),
    },
    {
      method: 'GET', url: '/v1/alarms/:name', action: 'rekey:DescribeAlarm', summary: 'One alarm: its rule, state and state history (newest first)',
      schema: { params: nameParams }, audit: ['name'], resource: (i) => arn('alarm', nameOf(i)),
      run: async (i) => {
        const r = await alarms.store.rule(nameOf(i));
        if (!r) throw new ResourceNotFoundException(`No alarm named ${nameOf(i)}.`);
        const s = (await alarms.store.state(r.name))?.rec;
        return { alarm: r, state: { state: s?.state ?? 'OK', since: s?.since ?? null, reason: s?.reason ?? null }, history: s?.history ?? [] };
      },
    },
    {
      method: 'PUT', url: '/v1/alarms/:name', action: 'rekey:PutAlarm', summary: 'Create or replace an alarm rule (a built-in\'s name replaces the built-in)',
      schema: { params: nameParams, body: ruleBody }, audit: ['name', 'kind', 'enabled', 'periodSeconds', 'metric', 'statistic', 'comparison', 'threshold', 'treatMissingData'],
      resource: (i) => arn('alarm', nameOf(i)), gate: 'operation', status: 200,
      run: async (i, { request }) => {
        const rule = ruleOf(nameOf(i), i);
        await store(request).putRule(rule);
        alarms.rulesChanged();
        return { alarm: await alarms.store.rule(rule.name) };
      },
    },
    {
      method: 'DELETE', url: '/v1/alarms/:name', action: 'rekey:DeleteAlarm', summary: 'Delete a user alarm, or a built-in\'s replacement (the built-in applies again)',
      schema: { params: nameParams }, audit: ['name'], resource: (i) => arn('alarm', nameOf(i)), gate: 'operation', status: 200,
      run: async (i, { request }) => {
        const r = await store(request).deleteRule(nameOf(i));
        alarms.rulesChanged();
        return r;
      },
    },
    {
      method: 'PUT', url: '/v1/alarms/targets/:name', action: 'rekey:PutAlarmTarget', summary: 'Create or replace a notification target; a new webhook\'s signing secret is shown once',
      schema: { params: targetParams, body: targetBody }, audit: ['name', 'type', 'host', 'port'], resource: (i) => arn('alarm-target', nameOf(i)), gate: 'operation', status: 200,
      run: async (i, { request }) => {
        if (i['type'] === 'webhook') {
          if (typeof i['url'] !== 'string' || i['host'] !== undefined || i['port'] !== undefined) throw new ValidationException('A webhook target has a url (and no host or port).');
          return store(request).putTarget({ name: nameOf(i), type: 'webhook', url: i['url'] });
        }
        if (typeof i['host'] !== 'string' || typeof i['port'] !== 'number' || i['url'] !== undefined) throw new ValidationException('A syslog target has a host and a port (and no url).');
        return store(request).putTarget({ name: nameOf(i), type: 'syslog', host: i['host'], port: i['port'] });
      },
    },
    {
      method: 'DELETE', url: '/v1/alarms/targets/:name', action: 'rekey:DeleteAlarmTarget', summary: 'Remove a notification target',
      schema: { params: targetParams }, audit: ['name'], resource: (i) => arn('alarm-target', nameOf(i)), gate: 'operation', status: 200,
      run: async (i, { request }) => {
        await store(request).deleteTarget(nameOf(i));
        return {};
      },
    },
  ];
}
