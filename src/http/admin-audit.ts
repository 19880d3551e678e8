// Admin API for the audit trail (/v1/audit/...). Adapts AuditLog; decides nothing itself.
// These routes expose who-did-what: the server must put them behind the same admin
// authentication as the rest of /v1, and should audit calls to them (adminEvent 'LookupAuditEvents').
import type { FastifyInstance } from 'fastify';
import { ValidationException } from '../errors.ts';
import type { AuditLog } from '../audit/log.ts';
import { MAX_RESULTS } from '../audit/lookup.ts';

interface EventsQuery {
  eventName?: string;
  principal?: string;
  resource?: string;
  startTime?: string;
  endTime?: string;
  maxResults?: number;
  nextToken?: string;
}

interface VerifyQuery {
  from?: string;
  to?: string;
  node?: string;
}

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

/** OpenAPI path items for these routes, to merge into /v1/openapi.json. */
export const auditOpenApiPaths: Record<string, unknown> = {
  '/v1/audit/events': { get: { summary: 'Look up audit events, newest first (CloudTrail LookupEvents filters)', parameters: Object.keys(eventsSchema.querystring.properties).map((name) => ({ name, in: 'query', required: false })), responses: { '200': { description: '{ events: AuditRecord[], nextToken?: string }' } } } },
  '/v1/audit/public-key': { get: { summary: 'The Ed25519 public key that verifies audit digests', responses: { '200': { description: '{ publicKeyPem, fingerprint }' } } } },
  '/v1/audit/verify': { get: { summary: 'Verify hash chains and signed digests over a time range', parameters: ['from', 'to', 'node'].map((name) => ({ name, in: 'query', required: false })), responses: { '200': { description: 'VerifyResult; ok=false names the first broken event' } } } },
};

/**
 * fastify's validator silently drops unknown members (removeAdditional); a misspelled filter
 * would then widen the query without a word, so unknown parameters are refused before validation.
 */
function onlyKnown(names: readonly string[]) {
  const known = new Set(names);
  return async (req: { query: unknown }): Promise<void> => {
    for (const k of Object.keys((req.query ?? {}) as object)) {
      if (!known.has(k)) throw new ValidationException(`Unknown query parameter: ${k.slice(0, 64)}`);
    }
  };
}

export function registerAuditAdmin(app: FastifyInstance, audit: AuditLog): void {
  // Schema failures must surface as the project's ValidationException, not fastify's own error.
  const onSchemaError = (message: string): never => {
    throw new ValidationException(message);
  };

  app.get<{ Querystring: EventsQuery }>('/v1/audit/events', {
    schema: eventsSchema,
    attachValidation: true,
    preValidation: onlyKnown(Object.keys(eventsSchema.querystring.properties)),
  }, async (req) => {
    if (req.validationError) onSchemaError(`Invalid query: ${req.validationError.message}`);
    const q = req.query;
    const startTime = time('startTime', q.startTime);
    const endTime = time('endTime', q.endTime);
    return audit.lookup({
      ...(q.eventName !== undefined ? { eventName: q.eventName } : {}),
      ...(q.principal !== undefined ? { principal: q.principal } : {}),
      ...(q.resource !== undefined ? { resource: q.resource } : {}),
      ...(startTime ? { startTime } : {}),
      ...(endTime ? { endTime } : {}),
      ...(q.maxResults !== undefined ? { maxResults: q.maxResults } : {}),
      ...(q.nextToken !== undefined ? { nextToken: q.nextToken } : {}),
    });
  });

  app.get('/v1/audit/public-key', async () => ({ publicKeyPem: audit.publicKey.pem, fingerprint: audit.publicKey.fingerprint }));

  app.get<{ Querystring: VerifyQuery }>('/v1/audit/verify', {
    schema: verifySchema,
    attachValidation: true,
    preValidation: onlyKnown(Object.keys(verifySchema.querystring.properties)),
  }, async (req) => {
    if (req.validationError) onSchemaError(`Invalid query: ${req.validationError.message}`);
    const from = time('from', req.query.from);
    const to = time('to', req.query.to);
    return audit.verify({ ...(from ? { from } : {}), ...(to ? { to } : {}), ...(req.query.node ? { node: req.query.node } : {}) });
  });
}
