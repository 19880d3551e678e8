// Admin REST for the KMS key lifecycle (src/kms/lifecycle/admin.ts); decides nothing itself.
//
//   GET  /v1/kms/keys/:keyId/dependents                                  -> { keyId, keyArn, dependents }
//   POST /v1/kms/keys/:keyId/schedule-deletion {pendingWindowInDays?, force?} -> { keyId, keyArn, keyState, deletionDate, ... }
//   POST /v1/kms/keys/:keyId/disable           {force?}                  -> { keyId, keyArn, keyState, overriddenDependents }
//   GET  /v1/kms/keys/:keyId/usage-budget                                -> { keyId, keyArn, budget, currentKeyMaterialId, usage }
//   POST /v1/kms/keys/:keyId/usage-budget      {maxEncryptions?, maxBytes?} (neither: remove the budget)
//
// :keyId is a key id or key ARN (URL-encoded). Every call is SigV4-signed with credential scope
// service "iam" (like /v1/iam and /v1/jobs) and authorized by the caller's identity policies through
// IamService.authorizeAdmin, on the key ARN as resource:
//   rekey:ListKeyDependents, rekey:ScheduleKeyDeletion, rekey:DisableKey, rekey:GetKeyUsageBudget,
//   rekey:PutKeyUsageBudget; and rekey:OverrideKeyDependencies in addition when `force` is true.
// Errors are RekeyErrors, answered as { error, message, requestId } with the taxonomy's status.
import { signedRequestOf } from './signed-request.ts';
import type { AdminCallRecord } from './admin-call.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InternalFailure, RekeyError, ValidationException } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';
import type { IamService } from '../iam/service.ts';
import type { LifecycleAdmin } from '../kms/lifecycle/admin.ts';
import { parseBody } from './aws-json.ts';

export type KmsLifecycleAction =
  | 'rekey:ListKeyDependents' | 'rekey:ScheduleKeyDeletion' | 'rekey:DisableKey'
  | 'rekey:GetKeyUsageBudget' | 'rekey:PutKeyUsageBudget';

export type KmsLifecycleAdminCall = AdminCallRecord<KmsLifecycleAction>;

export interface KmsLifecycleAdminDeps {
  admin: LifecycleAdmin;
  /** Authenticates and authorizes every call. Without it the routes are open: tests only. */
  iam?: IamService;
  region: string;
  accountId: string;
  partition?: string;
  /** Called once per call, after it ran and before the response (the audit trail). If it throws, the response is an internal error. */
  onCall?: (call: KmsLifecycleAdminCall) => Promise<void> | void;
}

export const OVERRIDE_PERMISSION = 'rekey:OverrideKeyDependencies';
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN = /^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

type Body = Record<string, unknown>;

function optInt(b: Body, name: string): number | undefined {
  const v = b[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ValidationException(`${name} must be an integer`);
  return v;
}

function optBool(b: Body, name: string): boolean {
  const v = b[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ValidationException(`${name} must be true or false`);
  return v;
}

function onlyMembers(b: Body, allowed: readonly string[]): void {
  const extra = Object.keys(b).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new ValidationException(`Unknown member${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}; expected ${allowed.join(', ')}`);
}

export function registerKmsLifecycleAdmin(app: FastifyInstance, deps: KmsLifecycleAdminDeps): void {
  const partition = deps.partition ?? 'aws';
  const keyArnOf = (param: string): string => {
    if (KEY_ID.test(param)) return `arn:${partition}:kms:${deps.region}:${deps.accountId}:key/${param}`;
    if (KEY_ARN.test(param)) return param;
    throw new ValidationException(`Invalid key ${JSON.stringify(param.slice(0, 300))}: give a key id or key ARN`);
  };

  /** Authentication, authorization, validation and the onCall record around one route's work. */
  const route = <T>(action: KmsLifecycleAction, work: (keyArn: string, body: Body) => Promise<T>, extraPermission?: (body: Body) => string | undefined) =>
    async (req: FastifyRequest): Promise<T> => {
      let identity: Identity | undefined;
      let result: T | undefined;
      let error: RekeyError | undefined;
      let resource = '*';
      let parameters: Record<string, unknown> = { ...(req.params as object) };
      try {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (deps.iam) {
          identity = await deps.iam.authenticate(signedRequestOf(req, raw), 'iam');
        }
        resource = keyArnOf(String((req.params as { keyId?: unknown }).keyId ?? ''));
        const body = (req.method === 'GET' ? {} : parseBody(raw)) as Body;
        parameters = { ...parameters, ...body };
        if (deps.iam && identity) {
          const info = { sourceIp: req.ip, secureTransport: req.protocol === 'https' };
          deps.iam.authorizeAdmin(identity, action, resource, info);
          const extra = extraPermission?.(body);
          if (extra) deps.iam.authorizeAdmin(identity, extra, resource, info);
        }
        result = await work(resource, body);
      } catch (e) {
        error = e instanceof RekeyError && e.fault !== 'server' ? e : undefined;
        if (!error) {
          req.log.error({ err: e, requestId: req.id }, 'unexpected error');
          error = new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
        }
      }
      await deps.onCall?.({
        action, resource, requestId: req.id, parameters, sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''),
        ...(identity ? { identity } : {}), ...(error ? { error } : {}),
      });
      if (error) throw error;
      return result as T;
    };
  const force = (b: Body) => (b['force'] === true ? OVERRIDE_PERMISSION : undefined);

  app.get('/v1/kms/keys/:keyId/dependents', route('rekey:ListKeyDependents', (arn) => deps.admin.dependents(arn)));

  app.post('/v1/kms/keys/:keyId/schedule-deletion', route('rekey:ScheduleKeyDeletion', async (arn, b) => {
    onlyMembers(b, ['pendingWindowInDays', 'force']);
    return deps.admin.scheduleDeletion(arn, optInt(b, 'pendingWindowInDays') ?? 30, optBool(b, 'force'));
  }, force));

  app.post('/v1/kms/keys/:keyId/disable', route('rekey:DisableKey', async (arn, b) => {
    onlyMembers(b, ['force']);
    return deps.admin.disableKey(arn, optBool(b, 'force'));
  }, force));

  app.get('/v1/kms/keys/:keyId/usage-budget', route('rekey:GetKeyUsageBudget', (arn) => deps.admin.usage(arn)));

  app.post('/v1/kms/keys/:keyId/usage-budget', route('rekey:PutKeyUsageBudget', async (arn, b) => {
    onlyMembers(b, ['maxEncryptions', 'maxBytes']);
    const maxEncryptions = optInt(b, 'maxEncryptions');
    const maxBytes = optInt(b, 'maxBytes');
    return deps.admin.setUsageBudget(arn, { ...(maxEncryptions !== undefined ? { maxEncryptions } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}) });
  }));
}

/** OpenAPI paths for these routes, to merge into the document served at /v1/openapi.json. */
export function kmsLifecycleOpenApiPaths(): Record<string, unknown> {
  const key = { name: 'keyId', in: 'path', required: true, description: 'Key id or key ARN (URL-encoded)', schema: { type: 'string' } };
  const err = { description: 'Error: { error, message, requestId }' };
  const op = (summary: string, permission: string, body?: Record<string, unknown>) => ({
    summary,
    description: `SigV4-signed (credential scope service "iam"). Requires ${permission} on the key ARN.`,
    parameters: [key],
    ...(body ? { requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: body } } } } } : {}),
    responses: { '200': { description: 'OK' }, default: err },
  });
  const force = { force: { type: 'boolean', description: `Go ahead although rekey resources depend on the key (also requires ${OVERRIDE_PERMISSION})` } };
  return {
    '/v1/kms/keys/{keyId}/dependents': { get: op('The rekey resources that use the key', 'rekey:ListKeyDependents') },
    '/v1/kms/keys/{keyId}/schedule-deletion': { post: op('ScheduleKeyDeletion, optionally overriding the dependency guard', 'rekey:ScheduleKeyDeletion', { pendingWindowInDays: { type: 'integer', minimum: 7, maximum: 30 }, ...force }) },
    '/v1/kms/keys/{keyId}/disable': { post: op('DisableKey, optionally overriding the dependency guard', 'rekey:DisableKey', force) },
    '/v1/kms/keys/{keyId}/usage-budget': {
      get: op("The key's usage budget and its current material's usage (all nodes)", 'rekey:GetKeyUsageBudget'),
      post: op('Set the usage budget (neither member: remove it)', 'rekey:PutKeyUsageBudget', { maxEncryptions: { type: 'integer', minimum: 1 }, maxBytes: { type: 'integer', minimum: 1 } }),
    },
  };
}
