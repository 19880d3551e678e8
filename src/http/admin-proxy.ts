// Admin routes for the PostgreSQL proxy, under /v1/proxy, as data (admin-routes.ts). Adapts ProxyService (src/proxy/service.ts);
// decides nothing itself. SigV4 (service "iam"), identity-policy authorization, audited.
//
//   GET  /v1/proxy/targets                      -> { targets: TargetStatus[] }   rekey:GetProxyStatus
//   POST /v1/proxy/targets/:name/pause  {timeoutMs?} -> { drainedMs, target }   rekey:PauseProxy
//   POST /v1/proxy/targets/:name/switch {host, port} -> { target }              rekey:SwitchProxy
//   POST /v1/proxy/targets/:name/resume              -> { pausedMs, stallMs, target } rekey:ResumeProxy
//   POST /v1/proxy/targets/:name/cutover {host, port, timeoutMs?} -> { from, to, drainedMs, pausedMs, stallMs, target } rekey:CutoverProxy
// Resource: arn:aws:rekey:<region>:<account>:proxy/<name> (proxy/* for the listing).
import type { ProxyControls, ProxyService, TargetStatus } from '../proxy/service.ts';
import type { RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

export type ProxyAdmin = Pick<ProxyService, 'status' | 'forCall'>;
const pauseBody = {
  type: 'object', additionalProperties: false,
  properties: { timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000 } },
} as const;
const switchBody = {
  type: 'object', additionalProperties: false, required: ['host', 'port'],
  properties: { host: { type: 'string', minLength: 1, maxLength: 253 }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
} as const;
const cutoverBody = {
  type: 'object', additionalProperties: false, required: ['host', 'port'],
  properties: { ...switchBody.properties, ...pauseBody.properties },
} as const;
const nameParams = {
  type: 'object', required: ['name'], additionalProperties: false,
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } },
} as const;

export function proxyRoutes(proxy: ProxyAdmin, scope: { region: string; accountId: string }): AdminRoute[] {
  const arn = (name: string) => `arn:aws:rekey:${scope.region}:${scope.accountId}:proxy/${name}`;
  const nameOf = (input: AdminInput) => String(input['name'] ?? '');
  const one = (name: string): TargetStatus => proxy.status().find((t) => t.name === name)!;
  const schema = { params: nameParams };
  // the mutations act through the call's controls: checked, then the audit gate, then the change
  const of = (request: RequestFacts): ProxyControls => proxy.forCall(new WriteGate(request.beforeCommit ?? (async () => {})));
  return [
    { method: 'GET', url: '/v1/proxy/targets', action: 'rekey:GetProxyStatus', summary: 'Proxy targets: endpoint, pause state, pools', audit: [], resource: () => arn('*'), run: () => ({ targets: proxy.status() }) },
    {
      method: 'POST', url: '/v1/proxy/targets/:name/pause', action: 'rekey:PauseProxy', summary: 'Hold new queries; in-flight transactions finish',
      schema: { ...schema, body: pauseBody }, audit: ['name', 'timeoutMs'], resource: (i) => arn(nameOf(i)), gate: 'operation',
      run: async (i, { request }) => {
        const r = await of(request).pause(nameOf(i), i['timeoutMs'] as number | undefined);
        return { drainedMs: r.drainedMs, target: one(nameOf(i)) };
      },
    },
    {
      method: 'POST', url: '/v1/proxy/targets/:name/switch', action: 'rekey:SwitchProxy', summary: 'Point the target at a new upstream endpoint',
      schema: { ...schema, body: switchBody }, audit: ['name', 'host', 'port'], resource: (i) => arn(nameOf(i)), gate: 'operation',
      run: async (i, { request }) => {
        await of(request).switch(nameOf(i), { host: i['host'] as string, port: i['port'] as number });
        return { target: one(nameOf(i)) };
      },
    },
    {
      method: 'POST', url: '/v1/proxy/targets/:name/resume', action: 'rekey:ResumeProxy', summary: 'Release held queries',
      schema, audit: ['name'], resource: (i) => arn(nameOf(i)), gate: 'operation',
      run: async (i, { request }) => {
        const r = await of(request).resume(nameOf(i));
        return { pausedMs: r.pausedMs, stallMs: r.stallMs, target: one(nameOf(i)) };
      },
    },
    {
      method: 'POST', url: '/v1/proxy/targets/:name/cutover', action: 'rekey:CutoverProxy', summary: 'One atomic cutover: pause, drain, switch, store the upstream, resume (rolled back on failure)',
      schema: { ...schema, body: cutoverBody }, audit: ['name', 'host', 'port', 'timeoutMs'], resource: (i) => arn(nameOf(i)), gate: 'operation',
      run: async (i, { request }) => {
        const r = await of(request).cutover(nameOf(i), { host: i['host'] as string, port: i['port'] as number }, i['timeoutMs'] as number | undefined);
        return { from: r.from, to: r.to, drainedMs: r.drainedMs, pausedMs: r.pausedMs, stallMs: r.stallMs, target: one(nameOf(i)) };
      },
    },
  ];
}
