// rekey's admin API for KMS keys with separation of duties:
//
//   POST /v1/kms/keys  {Description?, Administrators: [arn], Users: [arn], Tags?, EnableIamUserPermissions?}
//     -> 201 {KeyMetadata, Policy}
//
// It writes the AWS console's default key policy shape (src/iam/policy/key-policy.ts): the key
// administrators manage the key but cannot use it, the key users use it but cannot manage it. The
// call is SigV4-signed with credential scope service "kms" and runs as KMS CreateKey for the
// caller: kms:CreateKey in the caller's IAM policies, the policy lockout safety check, and the same
// validation. (camelCase member names - description, administrators, users - are accepted too.)
import { signedRequestOf } from './signed-request.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RekeyError, InternalFailure, ValidationException } from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import { defaultKeyPolicy } from '../iam/policy/key-policy.ts';
import type { KmsService } from '../kms/service.ts';
import { parseBody } from './aws-json.ts';
import type { AdminCallRecord } from './admin-call.ts';

export interface KmsAdminCall extends AdminCallRecord<'kms:CreateKey'> {
  output?: Record<string, unknown>;
}

export interface KmsAdminDeps {
  kms: KmsService;
  iam: IamService;
  /**
   * Called once per call (the audit trail): for a success right before the key is written (so a call
   * that cannot be recorded creates nothing), otherwise before the error response. If it throws, the
   * response is an internal error.
   */
  onCall?: (call: KmsAdminCall) => Promise<void> | void;
}

const MAX_PRINCIPALS = 100;

function principals(b: Record<string, unknown>, name: 'Administrators' | 'Users'): string[] {
  const lower = name.toLowerCase();
  if (b[name] !== undefined && b[lower] !== undefined) throw new ValidationException(`Give ${name} or ${lower}, not both.`);
  const v = b[name] ?? b[lower];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0) || v.length > MAX_PRINCIPALS) {
    throw new ValidationException(`${name} must be a list of at most ${MAX_PRINCIPALS} principal ARNs.`);
  }
  return [...new Set(v as string[])];
}

export function registerKmsAdmin(app: FastifyInstance, deps: KmsAdminDeps): void {
  const { kms, iam } = deps;
  app.post('/v1/kms/keys', async (req: FastifyRequest, reply: FastifyReply) => {
    let identity: Identity | undefined;
    let error: RekeyError | undefined;
    let output: Record<string, unknown> | undefined;
    let parameters: Record<string, unknown> = {};
    let recorded = false;
    const record = async (extra: { output?: Record<string, unknown>; error?: RekeyError }) => {
      recorded = true;
      const arn = (extra.output?.['KeyMetadata'] as { Arn?: string } | undefined)?.Arn ?? '*';
      await deps.onCall?.({ action: 'kms:CreateKey', resource: arn, requestId: req.id, parameters, sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), ...(identity ? { identity } : {}), ...extra });
    };
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      identity = await iam.authenticate(signedRequestOf(req, body), 'kms');
      const b = parseBody(body) as Record<string, unknown>;
      const administrators = principals(b, 'Administrators');
      const users = principals(b, 'Users');
      const description = b['Description'] ?? b['description'];
      const enable = b['EnableIamUserPermissions'];
      if (enable !== undefined && typeof enable !== 'boolean') throw new ValidationException('EnableIamUserPermissions must be a boolean.');
      parameters = { Administrators: administrators, Users: users, ...(description !== undefined ? { Description: description } : {}) };
      const policy = defaultKeyPolicy({ accountId: iam.accountId, administrators, users, ...(enable !== undefined ? { enableIamUserPermissions: enable } : {}) });
      const input = { Policy: policy, ...(description !== undefined ? { Description: description } : {}), ...(b['Tags'] !== undefined ? { Tags: b['Tags'] } : {}) };
      const ua = req.headers['user-agent'];
      const created = await kms.call('CreateKey', input, identity, {
        requestId: req.id, sourceIp: req.ip, secureTransport: req.protocol === 'https', userAgent: typeof ua === 'string' ? ua : '',
        beforeCommit: (partial) => record({ output: { ...(partial as Record<string, unknown>), Policy: policy } }),
      });
      output = { ...created, Policy: policy };
    } catch (e) {
      error = e instanceof RekeyError && e.fault !== 'server' ? e : internal(req, e);
    }
    if (error || !recorded) {
      try {
        await record(error ? { error } : { ...(output ? { output } : {}) });
      } catch (e) {
        error = internal(req, e);
      }
    }
    if (error) return reply.code(error.status).send({ error: error.code, message: error.message, requestId: req.id });
    return reply.code(201).send(output);
  });
}

function internal(req: FastifyRequest, err: unknown): RekeyError {
  req.log.error({ err, requestId: req.id }, 'unexpected error');
  return new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
}

/** OpenAPI 3 path item for this route, to merge into /v1/openapi.json. */
export function kmsOpenApiPaths(): Record<string, Record<string, unknown>> {
  return {
    '/v1/kms/keys': {
      post: {
        operationId: 'CreateKeyWithSeparationOfDuties',
        summary: 'Create a KMS key whose policy separates key administrators from key users',
        description: 'SigV4-signed (credential scope service "kms"). Requires kms:CreateKey; the policy lockout safety check applies.',
        responses: { '201': { description: 'Created: {KeyMetadata, Policy}' }, '400': { description: 'ValidationException, MalformedPolicyDocumentException, AccessDeniedException' } },
      },
    },
  };
}
