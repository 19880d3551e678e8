// The one request pipeline for AWS-protocol calls on POST / (docs/ARCHITECTURE.md, "Request
// pipeline"). Every call, whatever its wire protocol, crosses the same stages in this order:
//
//   parse (protocol.route)  ->  authenticate (SigV4, scoped to the service's signing name)
//   -> mTLS principal check -> quota -> parse input (protocol.input)
//   -> service.call: authorize + validate + operation (the domain; mutations pass the audit gate
//      `beforeCommit` right before their first write) -> audit (read-only calls: before the result
//      leaves) -> respond (protocol.sendResult / protocol.sendError)
//
// A protocol is one adapter (wire in: service, operation, input; wire out: result, error shape):
// src/http/aws-json.ts (X-Amz-Target, JSON 1.1) and src/http/query.ts (Action=...&Version=..., XML).
// A service is an operation table behind a signing name (KMS, Secrets Manager, STS, RDS...).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { InternalFailure, RekeyError } from '../errors.ts';
import type { Identity, RequestFacts } from '../iam/identity.ts';
import { AuditedCall, type Appender, type CallContext } from '../audit/index.ts';
import type { ServiceName } from '../audit/event.ts';
import { accessKeyIdOf, headersFromRaw, type SignedRequest } from '../iam/sigv4.ts';

/** A service behind an AWS protocol: its SigV4 signing name, its audit name and its dispatcher. */
export interface AwsService {
  /** The SigV4 credential scope's service name ("kms", "secretsmanager", "sts", "rds"). */
  signingName: string;
  /** The audit trail's name for the service (src/audit/event.ts SERVICES). */
  auditName: ServiceName;
  /** Credential-scope regions accepted (default: the server's region). */
  regions?: readonly string[];
  call(operation: string, input: unknown, caller: Identity, request: RequestFacts): Promise<Record<string, unknown>>;
}

/**
 * The request as every stage reads it: a fastify request (admin routes, the Query protocol, every
 * request off the raw lane's one shape) or the raw lane's (src/http/raw-lane.ts: canonical AWS JSON
 * calls, served without fastify). Both carry the same facts.
 */
export interface WireRequest {
  readonly id: string;
  /** The peer's address (no proxy headers are trusted). */
  readonly ip: string;
  readonly method: string;
  readonly url: string;
  readonly protocol: 'http' | 'https';
  readonly headers: IncomingHttpHeaders;
  readonly raw: IncomingMessage;
  /** The exact body bytes (a Buffer), or nothing. */
  readonly body?: unknown;
  readonly log: { error(obj: object, msg: string): void };
}

/** Where a protocol writes its answer: a fastify reply, or the raw lane's. */
export interface WireReply {
  readonly request: WireRequest;
  code(status: number): WireReply;
  header(name: string, value: string): WireReply;
  send(body: string): WireReply;
}

/** What the parse stage found: which service and operation the request names. */
export interface WireRoute {
  service: AwsService;
  operation: string;
}

/** One wire protocol: how a request names its operation and input, and how results and errors look. */
export interface Protocol {
  readonly name: string;
  /** Whether this POST / request speaks this protocol (content type, headers). */
  accepts(req: WireRequest): boolean;
  /** Parse stage: the service and operation; throws a typed error (answered in this protocol's shape). */
  route(req: WireRequest, body: Buffer): WireRoute;
  /** The input, parsed after authentication (strangers learn nothing about the parser). */
  input(req: WireRequest, body: Buffer, route: WireRoute): unknown;
  /**
   * When the parse stage fails (no such service or operation): the service the refused call is
   * recorded under, from what the request claims (its SigV4 credential scope). None: not recorded.
   */
  refusedService?(req: WireRequest): AwsService | undefined;
  /** The error as this protocol's clients expect it, for the audit event (STS: AccessDenied). */
  auditError?(err: RekeyError, route: WireRoute | null): RekeyError;
  sendResult(reply: WireReply, route: WireRoute, result: Record<string, unknown>, requestId: string): WireReply;
  sendError(reply: WireReply, err: RekeyError, requestId: string, route: WireRoute | null): WireReply;
}

export interface PipelineDeps {
  region: string;
  authenticate(req: SignedRequest, signingName: string, regions?: readonly string[]): Promise<Identity>;
  /** mTLS: the client certificate must name the signer (src/http/edge.ts). */
  checkClient?(req: WireRequest, caller: Identity): void;
  /** Quotas (src/quotas): throws ThrottlingException. */
  quotas?: { check(service: string, operation: string, caller: Identity): void };
  audit: Appender;
  /** BENCHMARKS ONLY (src/server/unsafe-no-auth.ts): requests run as this identity without SigV4. */
  unauthenticatedAs?: Identity;
  /** Metrics (src/metrics): every answered call, once, with its outcome ("success" or the error code) and duration. */
  observe?(api: string, operation: string, outcome: string, seconds: number): void;
}

// ---- the request as every stage reads it (the AWS protocols and the admin pipeline alike): the one
// conversion from a request to what SigV4 verification reads: method, path and raw query as
// sent, headers from rawHeaders (Node's req.headers joins repeats with ", ", which breaks SigV4),
// and the exact body bytes.

/** The raw request body (every body is read as bytes: see the content-type parser in app.ts). */
export function bodyOf(req: WireRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

export function signedRequestOf(req: WireRequest, body: Buffer = bodyOf(req)): SignedRequest {
  const q = req.url.indexOf('?');
  return {
    method: req.method,
    path: q < 0 ? req.url : req.url.slice(0, q),
    query: q < 0 ? '' : req.url.slice(q + 1),
    headers: headersFromRaw(req.raw.rawHeaders),
    body,
  };
}

/** The credential scope's service of a SigV4 Authorization header, if any. */
export function scopeService(req: WireRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return undefined;
  return /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(auth)?.[1];
}

/** Maps any thrown value to a RekeyError; unexpected ones become an InternalFailure without details. */
export function toRekeyError(err: unknown, requestId: string): RekeyError {
  if (err instanceof RekeyError) return err;
  return new InternalFailure(`An internal error occurred. Request ID: ${requestId}`);
}

/** Runs one AWS-protocol request through every stage. Always answers (never throws). */
export async function serveAwsCall(req: WireRequest, reply: WireReply, protocol: Protocol, deps: PipelineDeps): Promise<WireReply> {
  const requestId = req.id;
  const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '';
  const body = bodyOf(req);
  let route: WireRoute | null = null;
  let ctx: Omit<CallContext, 'input' | 'caller'> | null = null;
  let caller: Identity | null = null;
  let input: unknown = {};
  let audited: AuditedCall | null = null;
  const started = performance.now();
  const observe = (outcome: string): void => deps.observe?.(route?.service.signingName ?? 'unknown', route?.operation ?? 'UnknownOperation', outcome, (performance.now() - started) / 1000);
  try {
    route = protocol.route(req, body);
    const { service, operation } = route;
    ctx = { service: service.auditName, operation: operation.slice(0, 64), requestId, sourceIp: req.ip, userAgent: ua, region: deps.region, now: new Date() };
    caller = deps.unauthenticatedAs ?? await deps.authenticate(signedRequestOf(req, body), service.signingName, service.regions);
    deps.checkClient?.(req, caller);
    deps.quotas?.check(service.signingName, operation, caller);
    input = protocol.input(req, body, route);
    const call = new AuditedCall(deps.audit, { ...ctx, input, caller });
    audited = call;
    // the audit gate exists for mutating calls only: read-only calls get no gated view of the store
    const result = await service.call(operation, input, caller, {
      requestId, sourceIp: req.ip, secureTransport: req.protocol === 'https', userAgent: ua,
      ...(call.mutating ? { beforeCommit: (partial: unknown) => call.succeeded(partial) } : {}),
    });
    // read-only and data-plane calls: recorded before the result (a plaintext, a data key) leaves
    await call.succeeded(result);
    observe('success');
    return protocol.sendResult(reply, route, result, requestId);
  } catch (err) {
    let rk = toRekeyError(err, requestId);
    if (!(err instanceof RekeyError)) req.log.error({ err, requestId }, 'unexpected error');
    else if (rk.fault === 'server' && rk.cause !== undefined) req.log.error({ err: rk.cause, requestId, code: rk.code }, 'internal error');
    // refused at the parse stage: recorded under the service the credential scope names, if any
    if (!ctx) {
      const svc = protocol.refusedService?.(req);
      if (svc) ctx = { service: svc.auditName, operation: 'UnknownOperation', requestId, sourceIp: req.ip, userAgent: ua, region: deps.region, now: new Date() };
    }
    // a failed authentication is recorded under the access key id the request claimed
    const call = audited ?? (ctx ? new AuditedCall(deps.audit, { ...ctx, input, caller: caller ?? { accessKeyId: accessKeyIdOf(req.headers) ?? '' } }) : null);
    if (call) {
      try {
        await call.failed(protocol.auditError ? protocol.auditError(rk, route) : rk);
      } catch (auditErr) {
        req.log.error({ err: auditErr, requestId }, 'call could not be audited');
        rk = toRekeyError(auditErr, requestId);
      }
    }
    observe(rk.code);
    return protocol.sendError(reply, rk, requestId, route);
  }
}
