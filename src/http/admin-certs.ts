// Admin REST for the API's certificates, under /v1/certs. Adapts CertService (src/certs).
//
//   GET  /v1/certs          -> { mode, server, ca?, history }      rekey:GetCertificateStatus
//   POST /v1/certs/rotate   -> CertView (the new server certificate) rekey:RotateCertificate
//   POST /v1/certs/ca/rotate -> CaRotationView                       rekey:RotateCertificateAuthority
//        body { step?: "start" (default) | "complete" | "finish" }   (resource .../certificate/ca)
//   POST /v1/certs/issue    -> { certificatePem, privateKeyPem, caPem }  rekey:IssueCertificate
//        body { commonName, sans?, uris?, usage: "server"|"client", lifetimeSeconds? }
//        (a certificate from rekey's CA for other names: the proxy's listener, an mTLS client)
//
// Every call is SigV4-signed (credential scope service "iam"), authorized on
// arn:aws:rekey:<region>:<account>:certificate/server and audited through onCall.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Ajv } from 'ajv';
import { signedRequestOf } from './signed-request.ts';
import type { AdminCallRecord } from './admin-call.ts';
import { InternalFailure, RekeyError, ValidationException } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';
import type { IamService } from '../iam/service.ts';
import type { CertService } from '../certs/service.ts';
import type { CaStep } from '../certs/ca-rotation.ts';

export type CertsAdminCall = AdminCallRecord<'rekey:GetCertificateStatus' | 'rekey:RotateCertificate' | 'rekey:IssueCertificate' | 'rekey:RotateCertificateAuthority'>;

export interface CertsAdminOptions {
  certs?: CertService;
  iam: IamService;
  onCall: (call: CertsAdminCall) => Promise<void> | void;
}

const issueBody = {
  type: 'object', additionalProperties: false, required: ['commonName', 'usage'],
  properties: {
    commonName: { type: 'string', minLength: 1, maxLength: 64 },
    sans: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^[A-Za-z0-9.:*-]{1,253}$' } },
    uris: { type: 'array', maxItems: 10, items: { type: 'string', pattern: '^arn:[^\\s,]{1,2000}$' } },
    usage: { enum: ['server', 'client'] },
    lifetimeSeconds: { type: 'integer', minimum: 60, maximum: 398 * 86400 },
  },
} as const;

const rotateCaBody = { type: 'object', additionalProperties: false, properties: { step: { enum: ['start', 'complete', 'finish'] } } } as const;

export function registerCertsAdmin(app: FastifyInstance, opts: CertsAdminOptions): void {
  const arn = (name: string) => `arn:aws:rekey:${opts.iam.region}:${opts.iam.accountId}:certificate/${name}`;
  const route = <T>(action: CertsAdminCall['action'], work: (req: FastifyRequest, certs: CertService) => Promise<T>, resource = arn('server')) =>
    async (req: FastifyRequest): Promise<T> => {
      let identity: Identity | undefined;
      let result: T | undefined;
      let error: RekeyError | undefined;
      try {
        identity = await opts.iam.authenticate(signedRequestOf(req), 'iam');
        opts.iam.authorizeAdmin(identity, action, resource, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
        if (req.validationError) throw new ValidationException(`Invalid request: ${req.validationError.message}`);
        if (!opts.certs) throw new ValidationException('TLS is off on this server (tls.mode "off"): there are no certificates.');
        result = await work(req, opts.certs);
      } catch (e) {
        error = e instanceof RekeyError ? e : undefined;
        if (!error) {
          req.log.error({ err: e, requestId: req.id }, 'unexpected error');
          error = new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
        }
      }
      const body = req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? (req.body as Record<string, unknown>) : {};
      await opts.onCall({
        action, resource, requestId: req.id, parameters: { ...(req.query as object), ...body },
        sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), ...(identity ? { identity } : {}), ...(error ? { error } : {}),
      });
      if (error) throw error;
      return result as T;
    };

  app.get('/v1/certs', route('rekey:GetCertificateStatus', async (_req, certs) => certs.status()));
  app.post('/v1/certs/rotate', route('rekey:RotateCertificate', async (_req, certs) => certs.rotate('manual')));
  app.post('/v1/certs/ca/rotate', route('rekey:RotateCertificateAuthority', async (req, certs) => {
    const b = parseJson(req.body);
    if (!checkRotateCa(b)) throw new ValidationException(`Invalid request: ${(checkRotateCa.errors ?? []).map((e) => `${e.instancePath || 'body'} ${e.message ?? 'is invalid'}`).join('; ')}`);
    const step = (b as { step?: CaStep }).step ?? 'start';
    req.body = { step }; // what the audit event records
    return certs.rotateCa(step, 'manual');
  }, arn('ca')));
  app.post('/v1/certs/issue', route('rekey:IssueCertificate', async (req, certs) => {
    const b = parseJson(req.body);
    if (!validIssue(b)) throw new ValidationException(`Invalid request: ${describeIssueError(b)}`);
    const out = await certs.issue({
      commonName: b.commonName, usage: b.usage, ...(b.sans ? { sans: b.sans } : {}), ...(b.uris ? { uris: b.uris } : {}),
      ...(b.lifetimeSeconds ? { lifetimeMs: b.lifetimeSeconds * 1000 } : {}),
    });
    req.body = { commonName: b.commonName, usage: b.usage, sans: b.sans ?? [], uris: b.uris ?? [] }; // what the audit event records
    return { certificatePem: out.certPem, privateKeyPem: out.keyPem, caPem: out.caPem };
  }));
}

interface IssueInput { commonName: string; usage: 'server' | 'client'; sans?: string[]; uris?: string[]; lifetimeSeconds?: number }

function parseJson(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'), (k, v) => (k === '__proto__' || k === 'constructor' ? undefined : v));
  } catch {
    throw new ValidationException('Invalid request: the body is not valid JSON');
  }
}

const ajv = new Ajv({ allErrors: true });
const check = ajv.compile(issueBody);
const checkRotateCa = ajv.compile(rotateCaBody);
function validIssue(b: unknown): b is IssueInput {
  return check(b);
}
function describeIssueError(_b: unknown): string {
  return (check.errors ?? []).map((e) => `${e.instancePath || 'body'} ${e.message ?? 'is invalid'}`).join('; ');
}

export function certsOpenApiPaths(): Record<string, unknown> {
  const err = { description: 'Error', content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } } } } } };
  const ok = (d: string) => ({ '200': { description: d, content: { 'application/json': { schema: { type: 'object' } } } }, default: err });
  return {
    '/v1/certs': { get: { summary: 'The API certificate, rekey\'s CA and the rotation history', description: 'SigV4-signed (service "iam"). Requires rekey:GetCertificateStatus.', responses: ok('Certificate status') } },
    '/v1/certs/rotate': { post: { summary: 'Replace the API certificate now (generated mode)', description: 'Requires rekey:RotateCertificate.', responses: ok('The new certificate') } },
    '/v1/certs/ca/rotate': { post: { summary: 'Move the rotation of rekey\'s CA one phase on: start (new CA in the trust bundle), complete (server certificate from the new CA), finish (old CA leaves the bundle)', description: 'Requires rekey:RotateCertificateAuthority on arn:aws:rekey:<region>:<account>:certificate/ca. CertificateAuthorityRotationStateException when the step does not follow the current phase.', requestBody: { content: { 'application/json': { schema: rotateCaBody } } }, responses: ok('The CAs and the rotation phase') } },
    '/v1/certs/issue': { post: { summary: 'Issue a certificate from rekey\'s CA for other names (proxy listener, mTLS client)', description: 'Requires rekey:IssueCertificate. The private key is in this response only.', requestBody: { content: { 'application/json': { schema: issueBody } } }, responses: ok('Certificate, key and CA') } },
  };
}
