// Admin REST for the PostgreSQL proxy, under /v1/proxy. Adapts ProxyService (src/proxy/service.ts);
// decides nothing itself. Same conventions as /v1/jobs (admin-jobs.ts): SigV4 (service "iam"),
// identity-policy authorization, one onCall record per call (the audit trail), typed errors.
//
//   GET  /v1/proxy/targets                      -> { targets: TargetStatus[] }   rekey:GetProxyStatus
//   POST /v1/proxy/targets/:name/pause  {timeoutMs?} -> { drainedMs, target }   rekey:PauseProxy
//   POST /v1/proxy/targets/:name/switch {host, port} -> { target }              rekey:SwitchProxy
//   POST /v1/proxy/targets/:name/resume              -> { target }              rekey:ResumeProxy
// Resource: arn:aws:rekey:<region>:<account>:proxy/<name> (proxy/* for the listing).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InternalFailure, RekeyError, ValidationException } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';
import type { IamService } from '../iam/service.ts';
import type { ProxyService, TargetStatus } from '../proxy/service.ts';
import type { AdminCallRecord } from './admin-call.ts';
import { parseBody } from './aws-json.ts';
import { bodyOf, signedRequestOf } from './signed-request.ts';

export type ProxyAdmin = Pick<ProxyService, 'status' | 'pause' | 'switch' | 'resume'>;
export type ProxyAdminCall = AdminCallRecord<'rekey:GetProxyStatus' | 'rekey:PauseProxy' | 'rekey:SwitchProxy' | 'rekey:ResumeProxy'>;

export interface ProxyAdminOptions {
  iam?: IamService;
  onCall?: (call: ProxyAdminCall) => Promise<void> | void;
}

const nameParams = {
  type: 'object', required: ['name'], additionalProperties: false,
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' } },
} as const;

export function registerProxyAdmin(app: FastifyInstance, proxy: ProxyAdmin, opts: ProxyAdminOptions = {}): void {
  const arn = (name: string) => `arn:aws:rekey:${opts.iam?.region ?? ''}:${opts.iam?.accountId ?? ''}:proxy/${name}`;
  const nameOf = (req: FastifyRequest) => String((req.params as { name?: unknown }).name ?? '');
  const one = (name: string): TargetStatus => proxy.status().find((t) => t.name === name)!;

  const route = <T>(action: ProxyAdminCall['action'], resourceId: (req: FastifyRequest) => string, work: (req: FastifyRequest, body: Record<string, unknown>) => Promise<T> | T) =>
    async (req: FastifyRequest): Promise<T> => {
      let identity: Identity | undefined;
      let result: T | undefined;
      let error: RekeyError | undefined;
      let body: Record<string, unknown> = {};
      const resource = arn(resourceId(req));
      try {
        if (opts.iam) {
          identity = await opts.iam.authenticate(signedRequestOf(req), 'iam');
          opts.iam.authorizeAdmin(identity, action, resource, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
        }
        if (req.validationError) throw new ValidationException(`Invalid request: ${req.validationError.message}`);
        if (req.method === 'POST') body = parseBody(bodyOf(req)) as Record<string, unknown>;
        result = await work(req, body);
      } catch (e) {
        error = e instanceof RekeyError ? e : undefined;
        if (!error) {
          req.log.error({ err: e, requestId: req.id }, 'unexpected error');
          error = new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
        }
      }
      await opts.onCall?.({
        action, resource, requestId: req.id, parameters: { ...(req.params as object), ...body },
        sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), ...(identity ? { identity } : {}), ...(error ? { error } : {}),
      });
      if (error) throw error;
      return result as T;
    };
  const opt = { schema: { params: nameParams }, attachValidation: true };

  app.get('/v1/proxy/targets', route('rekey:GetProxyStatus', () => '*', () => ({ targets: proxy.status() })));

  app.post('/v1/proxy/targets/:name/pause', opt, route('rekey:PauseProxy', nameOf, async (req, body) => {
    const t = body.timeoutMs;
    if (t !== undefined && (!Number.isInteger(t) || (t as number) < 1 || (t as number) > 3_600_000)) throw new ValidationException('timeoutMs must be an integer in [1, 3600000]');
    const r = await proxy.pause(nameOf(req), t as number | undefined);
    return { drainedMs: r.drainedMs, target: one(nameOf(req)) };
  }));

  app.post('/v1/proxy/targets/:name/switch', opt, route('rekey:SwitchProxy', nameOf, (req, body) => {
    proxy.switch(nameOf(req), { host: body.host as string, port: body.port as number });
    return { target: one(nameOf(req)) };
  }));

  app.post('/v1/proxy/targets/:name/resume', opt, route('rekey:ResumeProxy', nameOf, (req) => {
    proxy.resume(nameOf(req));
    return { target: one(nameOf(req)) };
  }));
}
