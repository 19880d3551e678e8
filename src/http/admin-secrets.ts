// Admin routes for rotation webhooks (docs/SECRETS.md, "Webhooks"), as data (admin-routes.ts):
//   POST   /v1/secrets/webhooks        {name, url} -> {name, url, created, signingSecret}  (the secret is shown once)
//   GET    /v1/secrets/webhooks        -> {webhooks: [{name, url, created}]}
//   DELETE /v1/secrets/webhooks/:name  -> {}
// Every call is SigV4-signed (service 'iam', like the other admin routes) and authorized with
// rekey:CreateRotationWebhook / rekey:ListRotationWebhooks / rekey:DeleteRotationWebhook on
// arn:<partition>:rekey:<region>:<account>:rotation-webhook/<name>.
import { ValidationException } from '../errors.ts';
import type { WebhookStore } from '../secrets/rotation/webhooks.ts';
import type { RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

export function webhookRoutes(webhooks: WebhookStore, scope: { region: string; accountId: string }): AdminRoute[] {
  const arnOf = (name: string) => `arn:aws:rekey:${scope.region}:${scope.accountId}:rotation-webhook/${name}`;
  const name = (i: AdminInput) => {
    if (typeof i['name'] !== 'string') throw new ValidationException('name and url are required strings');
    return i['name'];
  };
  const eventSource = 'secretsmanager.amazonaws.com';
  // add / remove record their event right before the store's write (none when the store refuses)
  const store = (request: RequestFacts): WebhookStore => (request.beforeCommit ? webhooks.forCall(new WriteGate(request.beforeCommit)) : webhooks);
  return [
    {
      method: 'POST', url: '/v1/secrets/webhooks', action: 'rekey:CreateRotationWebhook', eventSource, status: 200,
      summary: 'Register a rotation webhook; the response carries its signing secret, shown only once',
      audit: ['name', 'url'], resource: (i) => arnOf(name(i)), gate: 'operation',
      run: async (i, { request }) => {
        if (typeof i['url'] !== 'string') throw new ValidationException('name and url are required strings');
        const w = await store(request).add(name(i), i['url']);
        return { name: w.name, url: w.url, created: new Date(w.created).toISOString(), signingSecret: w.signingSecret };
      },
    },
    {
      method: 'GET', url: '/v1/secrets/webhooks', action: 'rekey:ListRotationWebhooks', eventSource, summary: 'List rotation webhooks (without signing secrets)',
      audit: [], resource: () => '*',
      run: async () => ({ webhooks: (await webhooks.list()).map((w) => ({ name: w.name, url: w.url, created: new Date(w.created).toISOString() })) }),
    },
    {
      method: 'DELETE', url: '/v1/secrets/webhooks/:name', action: 'rekey:DeleteRotationWebhook', eventSource, status: 200, summary: 'Remove a rotation webhook',
      schema: { params: { type: 'object', properties: { name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' } } } },
      audit: ['name'], resource: (i) => arnOf(name(i)), gate: 'operation',
      run: async (i, { request }) => {
        await store(request).remove(name(i));
        return {};
      },
    },
  ];
}
