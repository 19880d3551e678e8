// rekey's admin API (/v1) as data: every route is an AdminRoute (method, URL, action, resource,
// schema, audit allowlist, run) registered through registerAdminRoutes, the one place where an
// admin call is parsed, authenticated, authorized, validated, audited and answered. IAM and the
// audit log are required: there is no open admin route (docs/ARCHITECTURE.md, "Request pipeline").
//
//   parse (JSON body + query + path params; path wins) -> authenticate (SigV4, route.signingName)
//   -> quota -> authorize (route.action on route.resource, + extraPermissions) -> validate (schemas)
//   -> audit gate (mutations: the event is recorded before the first write, through the domain's
//      per-call gated view (route.gate "operation") or, for a route without one, before run; an
//      unauditable call changes nothing; a failure after the event appends a correction) -> run
//   -> audit (read-only)
//   -> respond ({ error, message, requestId } on failure)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import { InternalFailure, RekeyError, ValidationException } from '../errors.ts';
import type { Identity, RequestFacts } from '../iam/identity.ts';
import type { SignedRequest } from '../iam/sigv4.ts';
import { adminEvent, type AuditEvent } from '../audit/index.ts';
import type { Appender } from '../audit/index.ts';
import { bodyOf, signedRequestOf } from './pipeline.ts';
import { parseBody } from './aws-json.ts';

export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type AdminInput = Record<string, unknown>;

export interface AdminRoute {
  method: AdminMethod;
  /** fastify URL pattern, e.g. /v1/jobs/:id */
  url: string;
  /** The permission checked and the audit event's name, e.g. "rekey:CancelJob", "iam:CreateUser". */
  action: string;
  /**
   * null: any authenticated caller (whoami, stateless helpers); "operation": the operation
   * authorizes itself (KMS CreateKey through KmsService). Default: `action` on `resource`.
   */
  permission?: null | 'operation';
  /** The resource ARN the action is authorized on (may throw ValidationException). */
  resource(input: AdminInput): string;
  /** Permissions needed in addition, on the same resource (e.g. rekey:OverrideKeyDependencies when force). */
  extraPermissions?(input: AdminInput): readonly string[];
  /** Whether the route changes state (default: every method but GET). */
  mutating?: boolean;
  /**
   * Who passes the audit gate of a mutation: "route" (default: the pipeline records the event right
   * before run) or "operation" (run passes `request.beforeCommit` itself before its first write,
   * with what it knows of the output).
   */
  gate?: 'route' | 'operation';
  /** SigV4 credential scope service (default "iam"). */
  signingName?: string;
  /** The audit event's eventSource (default "rekey.admin"). */
  eventSource?: string;
  /** JSON schemas, checked after authentication: path params, query string, JSON body. */
  schema?: { params?: object; querystring?: object; body?: object };
  /** Input members the audit event may record (names like *secret*, *password* never are). */
  audit: readonly string[];
  /** Success status (default 201 for POST Create*, else 200; 204 when run returns undefined). */
  status?: number;
  summary: string;
  run(input: AdminInput, call: { caller: Identity; request: RequestFacts }): Promise<unknown> | unknown;
}

export interface AdminPipelineDeps {
  region: string;
  accountId: string;
  authenticate(req: SignedRequest, signingName: string): Promise<Identity>;
  authorize(caller: Identity, action: string, resource: string, info: { sourceIp: string; secureTransport: boolean }): void;
  audit: Appender;
  /** Quotas (src/quotas), by (signing name, action without its prefix): iam:* at 100/s by default. */
  quotas?: { check(service: string, operation: string, caller: Identity): void };
  /** Metrics (src/metrics): every answered call, once, as api "admin" with the route's action. */
  observe?(api: string, operation: string, outcome: string, seconds: number): void;
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();
function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(schema)));
  return v;
}

function check(schema: object | undefined, value: unknown, where: string): void {
  if (!schema) return;
  const v = validator(schema);
  if (v(value)) return;
  const detail = (v.errors ?? []).map((e) => `${where}${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ');
  throw new ValidationException(`Invalid request: ${detail}`);
}

/** Query parameters as sent (fastify's own validator would drop unknown ones without a word). */
function rawQuery(req: FastifyRequest): Record<string, string> {
  const q = req.url.indexOf('?');
  const out = Object.create(null) as Record<string, string>;
  if (q >= 0) for (const [k, v] of new URLSearchParams(req.url.slice(q + 1))) out[k] = v;
  return out;
}

function knownOnly(schema: object | undefined, value: Record<string, unknown>, where: string): void {
  const s = schema as { properties?: Record<string, unknown>; additionalProperties?: boolean } | undefined;
  if (!s?.properties || s.additionalProperties !== false) return;
  for (const k of Object.keys(value)) {
    if (!Object.hasOwn(s.properties, k)) throw new ValidationException(`Invalid request: unknown ${where} member ${JSON.stringify(k.slice(0, 64))}`);
  }
}

export function isMutatingRoute(r: AdminRoute): boolean {
  return r.mutating ?? r.method !== 'GET';
}

/** Registers every route of `routes`; the one way an admin route reaches the server. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminPipelineDeps, routes: readonly AdminRoute[]): void {
  for (const route of routes) {
    app.route({ method: route.method, url: route.url, handler: (req, reply) => serveAdminCall(req, reply, route, deps) });
  }
}

async function serveAdminCall(req: FastifyRequest, reply: FastifyReply, route: AdminRoute, deps: AdminPipelineDeps): Promise<FastifyReply> {
  const requestId = req.id;
  const started = performance.now();
  const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '';
  const info = { sourceIp: req.ip, secureTransport: req.protocol === 'https' };
  const mutating = isMutatingRoute(route);
  let caller: Identity | undefined;
  let resource = '*';
  const input: AdminInput = Object.create(null) as AdminInput;
  let recorded: string | null = null; // the success event's id, once written

  const event = (extra: { error?: RekeyError; eventId?: string }): AuditEvent => adminEvent({
    action: route.action, eventSource: route.eventSource ?? 'rekey.admin', input, allow: route.audit,
    caller: caller ?? null, requestId, sourceIp: req.ip, userAgent: ua, region: deps.region, now: new Date(),
    readOnly: !mutating,
    resources: resource === '*' ? [] : [{ ARN: resource, type: 'Rekey::Admin::Resource', accountId: caller?.accountId ?? deps.accountId }],
    ...(extra.error ? { error: extra.error } : {}),
  });
  const gate = async (): Promise<void> => {
    if (recorded) return;
    const ev = event({});
    try {
      await deps.audit.append(ev);
    } catch (err) {
      req.log.error({ err, requestId }, 'admin call could not be audited');
      throw new InternalFailure('The request could not be audited; it was not performed.');
    }
    recorded = ev.eventID;
  };

  let result: unknown;
  let error: RekeyError | undefined;
  try {
    const body = bodyOf(req);
    caller = await deps.authenticate(signedRequestOf(req, body), route.signingName ?? 'iam');
    deps.quotas?.check(route.signingName ?? 'iam', route.action.replace(/^[a-z0-9-]+:/, ''), caller);
    const query = rawQuery(req);
    const parsedBody = route.method === 'GET' || route.method === 'DELETE' ? {} : (parseBody(body) as Record<string, unknown>);
    Object.assign(input, parsedBody, query, req.params as Record<string, string>);
    if (route.permission !== 'operation') {
      resource = route.resource(input);
      if (route.permission !== null) {
        deps.authorize(caller, route.action, resource, info);
        for (const extra of route.extraPermissions?.(input) ?? []) deps.authorize(caller, extra, resource, info);
      }
    }
    knownOnly(route.schema?.querystring, query, 'query');
    check(route.schema?.params, { ...(req.params as object) }, 'params');
    check(route.schema?.querystring, query, 'querystring');
    check(route.schema?.body, parsedBody, '');
    // coerced types (limit: 10); path parameters still win over query members of the same name
    if (route.schema?.querystring) Object.assign(input, query, req.params as Record<string, string>);
    if (mutating && route.gate !== 'operation') await gate();
    result = await route.run(input, {
      caller,
      // the audit gate exists for mutations only: read-only calls get no gated view of the store
      request: { requestId, sourceIp: req.ip, secureTransport: info.secureTransport, userAgent: ua, ...(mutating ? { beforeCommit: gateWith } : {}) },
    });
  } catch (e) {
    error = e instanceof RekeyError && e.fault !== 'server' ? e : undefined;
    if (!error) {
      if (!(e instanceof RekeyError && e.code === 'InternalFailure')) req.log.error({ err: e, requestId }, 'unexpected error');
      error = e instanceof RekeyError && e.code === 'InternalFailure' ? e : new InternalFailure(`An internal error occurred. Request ID: ${requestId}`);
    }
  }

  // CreateKey's event names the key it creates (the operation passes the gate with it).
  async function gateWith(partial?: unknown): Promise<void> {
    if (partial && typeof partial === 'object') {
      const arn = (partial as { KeyMetadata?: { Arn?: string } }).KeyMetadata?.Arn;
      if (arn) resource = arn;
    }
    await gate();
  }

  if (error || !recorded) {
    const ev = event(error ? { error } : {});
    if (error && recorded) ev.additionalEventData = { correctsEventId: recorded };
    try {
      await deps.audit.append(ev);
    } catch (err) {
      req.log.error({ err, requestId }, 'admin call could not be audited');
      error = new InternalFailure('The request could not be audited; it was not performed.');
    }
  }
  deps.observe?.('admin', route.action, error ? error.code : 'success', (performance.now() - started) / 1000);
  if (error) return reply.code(error.status).send({ error: error.code, message: error.message, requestId });
  if (result === undefined) return reply.code(204).send();
  const status = route.status ?? (route.method === 'POST' && /(^|:)Create/.test(route.action) ? 201 : 200);
  return reply.code(status).send(result);
}

/** OpenAPI 3 path items for routes, merged into /v1/openapi.json. */
export function adminOpenApiPaths(routes: readonly AdminRoute[]): Record<string, Record<string, unknown>> {
  const err = { description: 'Error', content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } } } } } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const p = (paths[r.url.replace(/:(\w+)/g, '{$1}')] ??= {});
    const needs = r.permission === null ? 'Any authenticated caller.' : r.permission === 'operation' ? `Authorized by the operation (${r.action}).` : `Requires ${r.action}.`;
    const params = Object.entries((r.schema?.params as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema }));
    const query = Object.entries((r.schema?.querystring as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
    p[r.method.toLowerCase()] = {
      operationId: r.action.replace(/^[a-z0-9-]+:/, ''),
      summary: r.summary,
      description: `SigV4-signed (credential scope service "${r.signingName ?? 'iam'}"). ${needs}`,
      ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
      ...(r.schema?.body ? { requestBody: { content: { 'application/json': { schema: r.schema.body } } } } : {}),
      responses: { '200': { description: 'OK' }, default: err },
    };
  }
  return paths;
}
