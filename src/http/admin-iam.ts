// rekey's admin API for identities, under /v1/iam (JSON, AWS IAM's PascalCase members). Every call
// is SigV4-signed with credential scope service "iam" by a principal whose identity policies allow
// the action's IAM permission (e.g. iam:CreateUser on arn:aws:iam::<account>:user/<name>); the
// bootstrap administrator's AdministratorAccess policy allows all of them. The actions themselves
// live in src/iam/admin-actions.ts; this module maps routes to them.
import { bodyOf, signedRequestOf } from './signed-request.ts';
import type { AdminCallRecord } from './admin-call.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RekeyError, InternalFailure, ValidationException } from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import { createAdminActions } from '../iam/admin-actions.ts';
import { defaultKeyPolicy } from '../iam/policy/key-policy.ts';
import { parseBody } from './aws-json.ts';

export interface IamAdminDeps {
  iam: IamService;
  /** Called once per call, before the response (the audit trail); if it throws, the response is an internal error. */
  onCall?: (call: IamAdminCall) => Promise<void> | void;
}

export type IamAdminCall = AdminCallRecord<string>;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** method, URL, action (src/iam/admin-actions.ts). Success: 201 for POST Create*, 204 when the action returns nothing, else 200. */
export const IAM_ROUTES: readonly [Method, string, string][] = [
  ['POST', '/v1/iam/users', 'CreateUser'],
  ['GET', '/v1/iam/users', 'ListUsers'],
  ['GET', '/v1/iam/users/:UserName', 'GetUser'],
  ['DELETE', '/v1/iam/users/:UserName', 'DeleteUser'],
  ['POST', '/v1/iam/users/:UserName/access-keys', 'CreateAccessKey'],
  ['GET', '/v1/iam/users/:UserName/access-keys', 'ListAccessKeys'],
  ['PATCH', '/v1/iam/users/:UserName/access-keys/:AccessKeyId', 'UpdateAccessKey'],
  ['DELETE', '/v1/iam/users/:UserName/access-keys/:AccessKeyId', 'DeleteAccessKey'],
  ['GET', '/v1/iam/users/:UserName/policies', 'ListUserPolicies'],
  ['PUT', '/v1/iam/users/:UserName/policies/:PolicyName', 'PutUserPolicy'],
  ['GET', '/v1/iam/users/:UserName/policies/:PolicyName', 'GetUserPolicy'],
  ['DELETE', '/v1/iam/users/:UserName/policies/:PolicyName', 'DeleteUserPolicy'],
  ['POST', '/v1/iam/users/:UserName/mfa-devices', 'EnableMFADevice'],
  ['DELETE', '/v1/iam/users/:UserName/mfa-devices', 'DeactivateMFADevice'],
  ['POST', '/v1/iam/roles', 'CreateRole'],
  ['GET', '/v1/iam/roles', 'ListRoles'],
  ['GET', '/v1/iam/roles/:RoleName', 'GetRole'],
  ['DELETE', '/v1/iam/roles/:RoleName', 'DeleteRole'],
  ['PUT', '/v1/iam/roles/:RoleName/trust-policy', 'UpdateAssumeRolePolicy'],
  ['GET', '/v1/iam/roles/:RoleName/policies', 'ListRolePolicies'],
  ['PUT', '/v1/iam/roles/:RoleName/policies/:PolicyName', 'PutRolePolicy'],
  ['GET', '/v1/iam/roles/:RoleName/policies/:PolicyName', 'GetRolePolicy'],
  ['DELETE', '/v1/iam/roles/:RoleName/policies/:PolicyName', 'DeleteRolePolicy'],
  ['POST', '/v1/iam/mfa-devices', 'CreateVirtualMFADevice'],
  ['GET', '/v1/iam/mfa-devices', 'ListMFADevices'],
  ['DELETE', '/v1/iam/mfa-devices', 'DeleteVirtualMFADevice'],
  ['GET', '/v1/iam/whoami', 'GetCallerIdentity'],
];

const SECRET_INPUTS = new Set(['AuthenticationCode1', 'AuthenticationCode2', 'PolicyDocument', 'AssumeRolePolicyDocument']);

async function authenticate(req: FastifyRequest, iam: IamService): Promise<Identity> {
  return iam.authenticate(signedRequestOf(req), 'iam');
}

function toRekey(req: FastifyRequest, err: unknown): RekeyError {
  if (err instanceof RekeyError && err.fault !== 'server') return err;
  req.log.error({ err, requestId: req.id }, 'unexpected error');
  return new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
}

/** The /v1 error shape (as src/http/app.ts writes it): { error, message, requestId }. */
function sendError(reply: FastifyReply, req: FastifyRequest, e: RekeyError): FastifyReply {
  return reply.code(e.status).send({ error: e.code, message: e.message, requestId: req.id });
}

export function registerIamAdmin(app: FastifyInstance, deps: IamAdminDeps): void {
  const { iam } = deps;
  const actions = createAdminActions();
  for (const [method, url, name] of IAM_ROUTES) {
    const action = actions[name]!;
    app.route({
      method, url,
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        let identity: Identity | undefined;
        let resource = '*';
        let error: RekeyError | undefined;
        let result: unknown;
        // path parameters win over query and body members of the same name
        const input: Record<string, unknown> = {};
        try {
          identity = await authenticate(req, iam);
          if (method !== 'GET' && method !== 'DELETE') Object.assign(input, parseBody(bodyOf(req)));
          Object.assign(input, req.query as Record<string, string>, req.params as Record<string, string>);
          resource = action.resource(iam, input);
          if (action.permission) iam.authorizeAdmin(identity, action.permission, resource, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
          result = await action.run(iam, input, identity);
        } catch (e) {
          error = toRekey(req, e);
        }
        const parameters = Object.fromEntries(Object.entries(input).filter(([k]) => !SECRET_INPUTS.has(k)));
        try {
          await deps.onCall?.({ action: action.permission ?? `iam:${name}`, resource, requestId: req.id, parameters, sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), ...(identity ? { identity } : {}), ...(error ? { error } : {}) });
        } catch (e) {
          return sendError(reply, req, toRekey(req, e));
        }
        if (error) return sendError(reply, req, error);
        if (result === undefined) return reply.code(204).send();
        return reply.code(method === 'POST' && name.startsWith('Create') ? 201 : 200).send(result);
      },
    });
  }

  // Stateless: the separation-of-duties key policy for given administrators and users.
  app.post('/v1/iam/key-policy', async (req, reply) => {
    try {
      await authenticate(req, iam);
      const b = parseBody(bodyOf(req)) as Record<string, unknown>;
      const list = (v: unknown, name: string): string[] => {
        if (v === undefined) return [];
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ValidationException(`${name} must be a list of principal ARNs`);
        return v as string[];
      };
      const enable = b['EnableIamUserPermissions'];
      return { Policy: defaultKeyPolicy({ accountId: iam.accountId, administrators: list(b['Administrators'], 'Administrators'), users: list(b['Users'], 'Users'), ...(typeof enable === 'boolean' ? { enableIamUserPermissions: enable } : {}) }) };
    } catch (e) {
      return sendError(reply, req, toRekey(req, e));
    }
  });
}

/** OpenAPI 3 path items for these routes, to merge into /v1/openapi.json. */
export function iamOpenApiPaths(): Record<string, Record<string, unknown>> {
  const actions = createAdminActions();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [method, url, name] of [...IAM_ROUTES, ['POST', '/v1/iam/key-policy', 'KeyPolicy'] as const]) {
    const permission = actions[name]?.permission;
    const p = (paths[url.replace(/:(\w+)/g, '{$1}')] ??= {});
    p[method.toLowerCase()] = {
      operationId: name,
      summary: name,
      description: `SigV4-signed (credential scope service "iam").${permission ? ` Requires ${permission}.` : ''}`,
      responses: { '200': { description: 'OK' }, '201': { description: 'Created' }, '204': { description: 'Done' }, '403': { description: 'AccessDeniedException' }, '404': { description: 'NotFoundException' } },
    };
  }
  return paths;
}
