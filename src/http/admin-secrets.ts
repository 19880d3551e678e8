// Admin API for rotation webhooks (docs/SECRETS.md, "Webhooks"):
//   POST   /v1/secrets/webhooks        {name, url} -> {name, url, created, signingSecret}  (the secret is shown once)
//   GET    /v1/secrets/webhooks        -> {webhooks: [{name, url, created}]}
//   DELETE /v1/secrets/webhooks/:name  -> {}
// Every call is SigV4-signed (service 'iam', like the other admin routes) and authorized with
// rekey:CreateRotationWebhook / rekey:ListRotationWebhooks / rekey:DeleteRotationWebhook on
// arn:<partition>:rekey:<region>:<account>:rotation-webhook/<name>.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InternalFailure, RekeyError, ValidationException } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';
import type { IamService } from '../iam/service.ts';
import type { WebhookStore } from '../secrets/rotation/webhooks.ts';
import type { AdminCallRecord } from './admin-call.ts';
import { parseBody } from './aws-json.ts';
import { signedRequestOf } from './signed-request.ts';

export interface SecretsAdminDeps {
  webhooks: WebhookStore;
  iam?: IamService;
  region: string;
  accountId: string;
  onCall?: (call: AdminCallRecord) => Promise<void> | void;
}

type Body = Record<string, unknown>;

export function registerSecretsAdmin(app: FastifyInstance, deps: SecretsAdminDeps): void {
  const arnOf = (name: string) => `arn:aws:rekey:${deps.region}:${deps.accountId}:rotation-webhook/${name}`;
  const route = <T>(action: string, work: (body: Body, name: string) => Promise<T>) => async (req: FastifyRequest): Promise<T> => {
    let identity: Identity | undefined;
    let result: T | undefined;
    let error: RekeyError | undefined;
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let parameters: Record<string, unknown> = {};
    let resource = '*';
    try {
      if (deps.iam) identity = await deps.iam.authenticate(signedRequestOf(req, raw), 'iam');
      const body = (req.method === 'POST' ? parseBody(raw) : {}) as Body;
      const name = String((req.params as { name?: unknown }).name ?? body['name'] ?? '*');
      parameters = { name, ...(typeof body['url'] === 'string' ? { url: body['url'] } : {}) };
      resource = name === '*' ? '*' : arnOf(name);
      if (deps.iam && identity) deps.iam.authorizeAdmin(identity, action, resource, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
      result = await work(body, name);
    } catch (e) {
      error = e instanceof RekeyError && e.fault !== 'server' ? e : undefined;
      if (!error) {
        req.log.error({ err: e, requestId: req.id }, 'unexpected error');
        error = new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
      }
    }
    await deps.onCall?.({ action, resource, requestId: req.id, parameters, sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), ...(identity ? { identity } : {}), ...(error ? { error } : {}) });
    if (error) throw error;
    return result as T;
  };

  app.post('/v1/secrets/webhooks', route('rekey:CreateRotationWebhook', async (b) => {
    if (typeof b['name'] !== 'string' || typeof b['url'] !== 'string') throw new ValidationException('name and url are required strings');
    const w = await deps.webhooks.add(b['name'], b['url']);
    return { name: w.name, url: w.url, created: new Date(w.created).toISOString(), signingSecret: w.signingSecret };
  }));
  app.get('/v1/secrets/webhooks', route('rekey:ListRotationWebhooks', async () => ({
    webhooks: (await deps.webhooks.list()).map((w) => ({ name: w.name, url: w.url, created: new Date(w.created).toISOString() })),
  })));
  app.delete('/v1/secrets/webhooks/:name', route('rekey:DeleteRotationWebhook', async (_b, name) => {
    await deps.webhooks.remove(name);
    return {};
  }));
}

export function secretsOpenApiPaths(): Record<string, unknown> {
  const err = { description: 'Error: { error, message, requestId }' };
  const op = (summary: string, permission: string, extra: Record<string, unknown> = {}) => ({
    summary,
    description: `SigV4-signed (credential scope service "iam"). Requires ${permission} on arn:aws:rekey:<region>:<account>:rotation-webhook/<name>.`,
    responses: { '200': { description: 'OK' }, default: err },
    ...extra,
  });
  const name = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' } };
  return {
    '/v1/secrets/webhooks': {
      get: op('List rotation webhooks (without signing secrets)', 'rekey:ListRotationWebhooks'),
      post: op('Register a rotation webhook; the response carries its signing secret, shown only once', 'rekey:CreateRotationWebhook', {
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'url'], properties: { name: { type: 'string' }, url: { type: 'string', format: 'uri' } } } } } },
      }),
    },
    '/v1/secrets/webhooks/{name}': { delete: op('Remove a rotation webhook', 'rekey:DeleteRotationWebhook', { parameters: [name] }) },
  };
}
