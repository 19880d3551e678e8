// Admin routes for incident response (docs/INCIDENTS.md), as data (admin-routes.ts). Adapts
// IncidentService (src/compliance/incident).
//
//   POST /v1/incidents/compromised-key          { key, from?, to?, disablePrincipals?, allowedPrincipals? }
//        -> 202 { incidentId }                  rekey:RespondToCompromisedKey on the key's ARN
//   POST /v1/incidents/compromised-credentials  { credential, from?, to? }
//        -> 202 { incidentId, type }            rekey:RespondToCompromisedCredentials on the incident resource
//   GET  /v1/incidents/:id                      -> progress, record, signed report   rekey:GetIncident
//
// Both POSTs start a durable job (src/jobs), created through the call's gated view (gate "operation"):
// the call's event is recorded right before the job is written; unaudited, nothing starts.
import { NotFoundException, ValidationException } from '../errors.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';
import type { IncidentService } from '../compliance/incident/service.ts';

const ISO = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2}))?$';
const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const PRINCIPAL = { type: 'string', minLength: 1, maxLength: 2048 } as const;

function time(name: string, v: unknown): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new ValidationException(`${name}: not a valid time (use ISO 8601, e.g. 2030-01-01T00:00:00Z)`);
  return d;
}

function windowOf(i: AdminInput): { from?: Date; to?: Date } {
  const from = time('from', i['from']);
  const to = time('to', i['to']);
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

export function incidentRoutes(incidents: IncidentService, scope: { region: string; accountId: string }): AdminRoute[] {
  const incidentArn = (id: string) => `arn:aws:rekey:${scope.region}:${scope.accountId}:incident/${id}`;
  const keyArn = (key: string) => (key.startsWith('arn:') ? key : `arn:aws:kms:${scope.region}:${scope.accountId}:${key.startsWith('alias/') ? key : `key/${key}`}`);
  return [
    {
      method: 'POST', url: '/v1/incidents/compromised-key', action: 'rekey:RespondToCompromisedKey', status: 202,
      summary: 'Respond to a compromised KMS key: record the incident, rotate the key, re-wrap what rekey holds under it, list its uses, optionally disable principals, write a signed report (a durable job)',
      resource: (i) => keyArn(String(i['key'] ?? '')),
      schema: {
        body: {
          type: 'object', required: ['key'], additionalProperties: false,
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 2048 }, from: { type: 'string', pattern: ISO }, to: { type: 'string', pattern: ISO },
            disablePrincipals: { type: 'boolean' }, allowedPrincipals: { type: 'array', maxItems: 100, items: PRINCIPAL },
          },
        },
      },
      audit: ['key', 'from', 'to', 'disablePrincipals', 'allowedPrincipals'],
      // the job is created through the call's gated view: the call's event is recorded right before it
      gate: 'operation',
      run: async (i, { caller, request }) => {
        const r = await incidents.compromisedKey({
          key: String(i['key']), reportedBy: caller.arn, ...windowOf(i), disablePrincipals: i['disablePrincipals'] === true,
          ...(request.beforeCommit ? { beforeCommit: request.beforeCommit } : {}),
          ...(Array.isArray(i['allowedPrincipals']) ? { allowedPrincipals: (i['allowedPrincipals'] as unknown[]).map(String) } : {}),
        });
        return { incidentId: r.id };
      },
    },
    {
      method: 'POST', url: '/v1/incidents/compromised-credentials', action: 'rekey:RespondToCompromisedCredentials', status: 202,
      summary: 'Respond to a leaked secret or access key: rotate the secret now (or deactivate the access key), end its proxy sessions where possible, list its uses, write a signed report (a durable job)',
      resource: () => incidentArn('*'),
      schema: {
        body: {
          type: 'object', required: ['credential'], additionalProperties: false,
          properties: { credential: { type: 'string', minLength: 1, maxLength: 2048 }, from: { type: 'string', pattern: ISO }, to: { type: 'string', pattern: ISO } },
        },
      },
      // 'credential' is never recorded (audit names like *credential* are dropped); the job's OpenIncident event names the secret or principal
      audit: ['from', 'to'],
      gate: 'operation',
      run: async (i, { caller, request }) => {
        const r = await incidents.compromisedCredentials({
          credential: String(i['credential']), reportedBy: caller.arn, ...windowOf(i), ...(request.beforeCommit ? { beforeCommit: request.beforeCommit } : {}),
        });
        return { incidentId: r.id, type: r.type };
      },
    },
    {
      method: 'GET', url: '/v1/incidents/:id', action: 'rekey:GetIncident',
      summary: 'An incident: its job\'s progress, its record and, once finished, the signed report',
      resource: (i) => incidentArn(String(i['id'] ?? '')),
      schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: UUID } } } },
      audit: ['id'],
      run: async (i) => {
        const v = await incidents.get(String(i['id']));
        if (!v) throw new NotFoundException(`Incident ${String(i['id'])} does not exist`);
        return v;
      },
    },
  ];
}
