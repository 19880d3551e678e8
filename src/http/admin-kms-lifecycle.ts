// Admin routes for the KMS key lifecycle (src/kms/lifecycle/admin.ts), as data (admin-routes.ts).
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
import { ValidationException } from '../errors.ts';
import type { LifecycleAdmin } from '../kms/lifecycle/admin.ts';
import type { RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

export type KmsLifecycleAction =
  | 'rekey:ListKeyDependents' | 'rekey:ScheduleKeyDeletion' | 'rekey:DisableKey'
  | 'rekey:GetKeyUsageBudget' | 'rekey:PutKeyUsageBudget';

export const OVERRIDE_PERMISSION = 'rekey:OverrideKeyDependencies';
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ARN = /^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

type Body = AdminInput;

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

export function kmsLifecycleRoutes(admin: LifecycleAdmin, scope: { region: string; accountId: string; partition?: string }): AdminRoute[] {
  const partition = scope.partition ?? 'aws';
  const keyArnOf = (i: AdminInput): string => {
    const param = String(i['keyId'] ?? '');
    if (KEY_ID.test(param)) return `arn:${partition}:kms:${scope.region}:${scope.accountId}:key/${param}`;
    if (KEY_ARN.test(param)) return param;
    throw new ValidationException(`Invalid key ${JSON.stringify(param.slice(0, 300))}: give a key id or key ARN`);
  };
  const force = (i: AdminInput) => (i['force'] === true ? [OVERRIDE_PERMISSION] : []);
  const body = (properties: Record<string, object>) => ({ type: 'object', additionalProperties: false, properties });
  const forceProp = { force: { type: 'boolean' } };
  const eventSource = 'kms.amazonaws.com';
  // mutations record their event right before the key's write (none when the key refuses)
  const of = (request: RequestFacts): LifecycleAdmin => (request.beforeCommit ? admin.forCall(new WriteGate(request.beforeCommit)) : admin);
  return [
    {
      method: 'GET', url: '/v1/kms/keys/:keyId/dependents', action: 'rekey:ListKeyDependents', eventSource, summary: 'The rekey resources that use the key',
      audit: ['keyId'], resource: keyArnOf, run: (i) => admin.dependents(keyArnOf(i)),
    },
    {
      method: 'POST', url: '/v1/kms/keys/:keyId/schedule-deletion', action: 'rekey:ScheduleKeyDeletion', eventSource,
      summary: `ScheduleKeyDeletion, optionally overriding the dependency guard (force also requires ${OVERRIDE_PERMISSION})`,
      schema: { body: body({ pendingWindowInDays: { type: 'integer' }, ...forceProp }) }, audit: ['keyId', 'pendingWindowInDays', 'force'],
      resource: keyArnOf, extraPermissions: force, gate: 'operation',
      run: (i, { request }) => of(request).scheduleDeletion(keyArnOf(i), optInt(i, 'pendingWindowInDays') ?? 30, optBool(i, 'force')),
    },
    {
      method: 'POST', url: '/v1/kms/keys/:keyId/disable', action: 'rekey:DisableKey', eventSource,
      summary: `DisableKey, optionally overriding the dependency guard (force also requires ${OVERRIDE_PERMISSION})`,
      schema: { body: body(forceProp) }, audit: ['keyId', 'force'], resource: keyArnOf, extraPermissions: force, gate: 'operation',
      run: (i, { request }) => of(request).disableKey(keyArnOf(i), optBool(i, 'force')),
    },
    {
      method: 'GET', url: '/v1/kms/keys/:keyId/usage-budget', action: 'rekey:GetKeyUsageBudget', eventSource,
      summary: "The key's usage budget and its current material's usage (all nodes)", audit: ['keyId'], resource: keyArnOf, run: (i) => admin.usage(keyArnOf(i)),
    },
    {
      method: 'POST', url: '/v1/kms/keys/:keyId/usage-budget', action: 'rekey:PutKeyUsageBudget', eventSource, summary: 'Set the usage budget (neither member: remove it)',
      schema: { body: body({ maxEncryptions: { type: 'integer' }, maxBytes: { type: 'integer' } }) }, audit: ['keyId', 'maxEncryptions', 'maxBytes'],
      resource: keyArnOf, gate: 'operation',
      run: (i, { request }) => {
        const maxEncryptions = optInt(i, 'maxEncryptions');
        const maxBytes = optInt(i, 'maxBytes');
        return of(request).setUsageBudget(keyArnOf(i), { ...(maxEncryptions !== undefined ? { maxEncryptions } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}) });
      },
    },
  ];
}
