// Builds the HTTP server: the AWS JSON 1.1 endpoint on POST / and rekey's admin API under /v1.
// This module only adapts; all decisions live in the domain modules it calls.
import { signedRequestOf } from './signed-request.ts';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from '../crypto/index.ts';
import {
  RekeyError, UnknownOperationException, RequestEntityTooLargeException, SerializationException,
  InternalFailure,
} from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import { registerSts } from './sts.ts';
import { registerRds, isRdsRequest, sendRdsError } from './rds-query.ts';
import type { DbService } from '../db/api.ts';
import { registerIamAdmin, iamOpenApiPaths } from './admin-iam.ts';
import { registerJobsAdmin, jobsOpenApiPaths, JOB_SCHEMA } from './admin-jobs.ts';
import type { JobsAdmin } from '../jobs/engine.ts';
import { AuditedCall, type AuditLog, type CallContext } from '../audit/index.ts';
import { accessKeyIdOf } from '../iam/sigv4.ts';
import { registerAuditAdmin, auditOpenApiPaths } from './admin-audit.ts';
import { stsHook, adminHook, guardAuditAdmin } from './audit-hooks.ts';
import { parseBody, sendAwsError, sendAwsResult, toRekeyError } from './aws-json.ts';
import { registerAdmin } from './admin.ts';
import { registerProxyAdmin, type ProxyAdmin } from './admin-proxy.ts';
import { kmsOpenApiPaths } from './admin-kms.ts';
import { kmsLifecycleOpenApiPaths } from './admin-kms-lifecycle.ts';
import { secretsOpenApiPaths } from './admin-secrets.ts';
import { certsOpenApiPaths } from './admin-certs.ts';
import { serverOptions, guardConnections, checkClientCertificate, type EdgeLimits, type EdgeTls } from './edge.ts';

/** An AWS-protocol service: its X-Amz-Target prefix, its SigV4 service name and its dispatcher. */
export interface AwsService {
  targetPrefix: string;
  signingName: string;
  /** The audit trail's name for the service. */
  auditName: 'kms' | 'secretsmanager';
  call(operation: string, input: unknown, caller: Identity, request: RequestFacts): Promise<Record<string, unknown>>;
}

/** Facts about the connection that policies can test (aws:SourceIp, aws:SecureTransport). */
export interface RequestFacts {
  requestId: string;
  sourceIp: string;
  secureTransport: boolean;
  userAgent: string;
  /**
   * Mutating operations call this once, after their outcome is decided and before their first
   * write; it records the call's audit event and rejects (so nothing is written) when it cannot.
   */
  beforeCommit?: (partialOutput?: unknown) => Promise<void>;
}

export interface AppOptions {
  region: string;
  bodyLimitBytes: number;
  iam: IamService;
  jobs: JobsAdmin;
  audit: AuditLog;
  services: AwsService[];
  logLevel: string;
  version: string;
  /** The PostgreSQL proxy, when this process runs one: /v1/proxy (admin-proxy.ts). */
  proxy?: ProxyAdmin;
  /** BENCHMARKS ONLY (src/unsafe-no-auth.ts): AWS API calls are not recorded (the audit-cost line of bench/kms). */
  unsafeNoAudit?: boolean;
  /** BENCHMARKS ONLY (src/unsafe-no-auth.ts): AWS requests are not authenticated and run as this identity. */
  unsafeUnauthenticated?: Identity;
  /** Connection hardening (src/http/edge.ts); absent: Node's defaults. */
  limits?: EdgeLimits;
  /** HTTPS (src/http/edge.ts); absent: plain HTTP. */
  tls?: EdgeTls;
  /** Request quotas (src/quotas): throws ThrottlingException for a call over quota. */
  quotas?: { check(service: string, operation: string, caller: Identity): void };
  /** Database instances (src/db): the RDS Query API on POST / (src/http/rds-query.ts) when present. */
  db?: DbService;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const edge = opts.limits ? serverOptions(opts.limits, opts.tls) : { keepAliveTimeout: 65_000, requestTimeout: 30_000 };
  const app = Fastify({
    ...edge,
    bodyLimit: opts.bodyLimitBytes,
    logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel },
    // no per-request log lines: they cost throughput and the audit trail is the record of requests
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    return503OnClosing: true,
  });
  if (opts.limits) guardConnections(app.server, opts.limits);

  // Every body is read as raw bytes: SigV4 hashes the exact payload, and JSON is parsed by us.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as { code?: string; statusCode?: number };
    let rk: RekeyError;
    if (err instanceof RekeyError) rk = err;
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') rk = new RequestEntityTooLargeException(`Request body exceeds the maximum of ${opts.bodyLimitBytes} bytes.`);
    else if (e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') rk = new SerializationException('The request body could not be read.');
    else {
      req.log.error({ err, requestId: req.id }, 'unexpected error');
      rk = new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
    }
    if (req.url.startsWith('/v1')) return reply.code(rk.status).send({ error: rk.code, message: rk.message, requestId: req.id });
    if (opts.db && isRdsRequest(req)) return sendRdsError(reply, rk, req.id);
    return sendAwsError(reply, rk, req.id);
  });

  const byPrefix = new Map(opts.services.map((s) => [s.targetPrefix, s]));
  const recorder = opts.unsafeNoAudit ? { append: async () => {} } : opts.audit;

  app.post('/', async (req: FastifyRequest, reply) => {
    const requestId = req.id;
    const now = new Date();
    const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '';
    // What is known so far, for the one audit event of this call (failed calls included).
    let ctx: Omit<CallContext, 'input' | 'caller'> | null = null;
    let caller: Identity | null = null;
    let input: unknown = {};
    let audited: AuditedCall | null = null;
    try {
      const target = req.headers['x-amz-target'];
      const dot = typeof target === 'string' ? target.indexOf('.') : -1;
      const service = dot > 0 ? byPrefix.get((target as string).slice(0, dot)) : undefined;
      if (!service) throw new UnknownOperationException(`Unknown operation ${typeof target === 'string' ? target.slice(0, 128) : '(missing X-Amz-Target)'}`);
      const operation = (target as string).slice(dot + 1);
      const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
      ctx = { service: service.auditName, operation: operation.slice(0, 64), requestId, sourceIp: req.ip, userAgent: ua, region: opts.region, now };
      caller = opts.unsafeUnauthenticated ?? await opts.iam.authenticate(signedRequestOf(req, body), service.signingName);
      if (opts.tls) checkClientCertificate(req.raw, caller, opts.tls.clientAuth);
      opts.quotas?.check(service.signingName, operation, caller);
      input = parseBody(body);
      const call = new AuditedCall(recorder, { ...ctx, input, caller });
      audited = call;
      const result = await service.call(operation, input, caller, {
        requestId, sourceIp: req.ip, secureTransport: req.protocol === 'https', userAgent: ua,
        beforeCommit: (partial) => call.succeeded(partial),
      });
      // read-only and data-plane calls: recorded before the result (a plaintext, a data key) leaves
      await call.succeeded(result);
      return sendAwsResult(reply, result, requestId);
    } catch (err) {
      let rk = toRekeyError(err, requestId);
      if (!(err instanceof RekeyError)) req.log.error({ err, requestId }, 'unexpected error');
      // a failed authentication is recorded under the access key id the request claimed
      const call = audited ?? (ctx ? new AuditedCall(recorder, { ...ctx, input, caller: caller ?? { accessKeyId: accessKeyIdOf(req.headers) ?? '' } }) : null);
      if (call) {
        try {
          await call.failed(rk);
        } catch (auditErr) {
          rk = toRekeyError(auditErr, requestId);
        }
      }
      return sendAwsError(reply, rk, requestId);
    }
  });

  const accountId = opts.iam.accountId;
  // RDS before STS: an unsigned form request with Version=2014-10-31 is refused in RDS's shape
  if (opts.db) {
    registerRds(app, {
      db: opts.db, iam: opts.iam, audit: recorder, region: opts.region,
      afterAuthenticate: (req, caller, action) => {
        if (opts.tls) checkClientCertificate(req.raw, caller, opts.tls.clientAuth);
        opts.quotas?.check('rds', action, caller);
      },
    });
  }
  registerSts(app, { iam: opts.iam, onCall: stsHook(opts.audit, opts.region) });
  registerIamAdmin(app, { iam: opts.iam, onCall: adminHook(opts.audit, opts.region, 'iam.amazonaws.com', accountId) });
  registerJobsAdmin(app, opts.jobs, { iam: opts.iam, onCall: adminHook(opts.audit, opts.region, 'rekey.admin', accountId) });
  if (opts.proxy) registerProxyAdmin(app, opts.proxy, { iam: opts.iam, onCall: adminHook(opts.audit, opts.region, 'rekey.admin', accountId) });
  guardAuditAdmin(app, opts.iam, opts.audit, opts.region);
  registerAuditAdmin(app, opts.audit);
  registerAdmin(app, { version: opts.version, extraPaths: { ...iamOpenApiPaths(), ...jobsOpenApiPaths(), ...auditOpenApiPaths, ...kmsOpenApiPaths(), ...kmsLifecycleOpenApiPaths(), ...certsOpenApiPaths(), ...secretsOpenApiPaths() }, schemas: { Job: JOB_SCHEMA } });
  return app;
}
