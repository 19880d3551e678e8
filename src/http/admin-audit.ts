// Admin routes for the audit trail (/v1/audit/...), as data (admin-routes.ts). Adapts AuditLog.
// They show who did what: rekey:LookupAuditEvents, rekey:GetAuditPublicKey, rekey:VerifyAuditTrail
// on arn:aws:rekey:<region>:<account>:audit-trail; each call is itself audited.
import { ValidationException } from '../errors.ts';
import type { AuditLog } from '../audit/log.ts';
import { MAX_RESULTS } from '../audit/lookup.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

const TIME = { type: 'string', minLength: 1, maxLength: 64 } as const;

const eventsSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      eventName: { type: 'string', minLength: 1, maxLength: 64 },
      principal: { type: 'string', minLength: 1, maxLength: 2048 },
      resource: { type: 'string', minLength: 1, maxLength: 2048 },
      startTime: TIME,
      endTime: TIME,
      maxResults: { type: 'integer', minimum: 1, maximum: MAX_RESULTS },
      nextToken: { type: 'string', minLength: 1, maxLength: 400 },
    },
  },
} as const;

const verifySchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { from: TIME, to: TIME, node: { type: 'string', minLength: 1, maxLength: 64 } },
  },
} as const;

function time(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ValidationException(`${name} is not a valid ISO 8601 time.`);
  return d;
}

export function auditRoutes(audit: AuditLog, scope: { region: string; accountId: string }): AdminRoute[] {
  const trail = () => `arn:aws:rekey:${scope.region}:${scope.accountId}:audit-trail`;
  const str = (i: AdminInput, k: string) => (i[k] === undefined ? undefined : String(i[k]));
  return [
    {
      method: 'GET', url: '/v1/audit/events', action: 'rekey:LookupAuditEvents', summary: 'Look up audit events, newest first (CloudTrail LookupEvents filters)',
      schema: { querystring: eventsSchema.querystring }, audit: Object.keys(eventsSchema.querystring.properties), resource: trail,
      run: (q) => {
        const startTime = time('startTime', str(q, 'startTime'));
        const endTime = time('endTime', str(q, 'endTime'));
        const eventName = str(q, 'eventName');
        const principal = str(q, 'principal');
        const resource = str(q, 'resource');
        const nextToken = str(q, 'nextToken');
        return audit.lookup({
          ...(eventName !== undefined ? { eventName } : {}), ...(principal !== undefined ? { principal } : {}),
          ...(resource !== undefined ? { resource } : {}), ...(startTime ? { startTime } : {}), ...(endTime ? { endTime } : {}),
          ...(q['maxResults'] !== undefined ? { maxResults: q['maxResults'] as number } : {}), ...(nextToken !== undefined ? { nextToken } : {}),
        });
      },
    },
    {
      method: 'GET', url: '/v1/audit/public-key', action: 'rekey:GetAuditPublicKey', summary: 'The Ed25519 public key that verifies audit digests',
      audit: [], resource: trail, run: () => ({ publicKeyPem: audit.publicKey.pem, fingerprint: audit.publicKey.fingerprint }),
    },
    {
      method: 'GET', url: '/v1/audit/verify', action: 'rekey:VerifyAuditTrail', summary: 'Verify hash chains and signed digests over a time range; ok=false names the first broken event',
      schema: { querystring: verifySchema.querystring }, audit: ['from', 'to', 'node'], resource: trail,
      run: (q) => {
        const from = time('from', str(q, 'from'));
        const to = time('to', str(q, 'to'));
        const node = str(q, 'node');
        return audit.verify({ ...(from ? { from } : {}), ...(to ? { to } : {}), ...(node ? { node } : {}) });
      },
    },
  ];
}
