// Builds the HTTP server: the AWS protocols on POST / (AWS JSON 1.1 and the Query protocol, both
// through the one pipeline in pipeline.ts), rekey's admin API under /v1 (admin-routes.ts) and the
// web console's static files under /console (console.ts).
// This module only wires; all decisions live in the domain modules the services call.
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from '../crypto/index.ts';
import {
  RekeyError, RequestEntityTooLargeException, SerializationException, InternalFailure, RouteNotFoundException, RequestTimeoutException,
  RequestUriTooLongException, RequestHeaderFieldsTooLargeException,
} from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import type { JobsAdmin } from '../jobs/engine.ts';
import { UNAUDITED, type AuditLog } from '../audit/index.ts';
import { AwsJsonProtocol, sendAwsError } from './aws-json.ts';
import { QueryProtocol, type QueryService } from './query.ts';
import { serveAwsCall, type AwsService, type Protocol } from './pipeline.ts';
import { stsService } from './sts.ts';
import { registerAdminRoutes, adminOpenApiPaths, type AdminRoute } from './admin-routes.ts';
import { iamRoutes } from './admin-iam.ts';
import { jobsRoutes, JOB_SCHEMA } from './admin-jobs.ts';
import { auditRoutes } from './admin-audit.ts';
import { proxyRoutes, type ProxyAdmin } from './admin-proxy.ts';
import { registerAdmin } from './admin.ts';
import { registerConsole } from './console.ts';
import { RefusedRequests } from './refused.ts';
import { RawLane } from './raw-lane.ts';
import { serverOptions, guardConnections, checkClientCertificate, type EdgeLimits, type EdgeTls } from './edge.ts';

export type { AwsService } from './pipeline.ts';
export type { RequestFacts } from '../iam/identity.ts';

/** An AWS JSON service and its X-Amz-Target prefix (TrentService, secretsmanager). */
export interface AwsJsonService extends AwsService {
  targetPrefix: string;
}

export interface AppOptions {
  region: string;
  bodyLimitBytes: number;
  iam: IamService;
  jobs: JobsAdmin;
  audit: AuditLog;
  /** AWS JSON 1.1 services (KMS, Secrets Manager). */
  services: AwsJsonService[];
  /** Query-protocol services besides STS (which is always served), e.g. RDS. */
  queryServices?: QueryService[];
  /** Admin routes besides IAM, jobs, audit and proxy (KMS, key lifecycle, webhooks, certificates). */
  adminRoutes?: AdminRoute[];
  logLevel: string;
  version: string;
  /** The PostgreSQL proxy, when this process runs one: /v1/proxy (admin-proxy.ts). */
  proxy?: ProxyAdmin;
  /** BENCHMARKS ONLY (src/server/unsafe-no-auth.ts): AWS API calls are not recorded (the audit-cost line of bench/kms). */
  unsafeNoAudit?: boolean;
  /** BENCHMARKS ONLY (src/server/unsafe-no-auth.ts): AWS requests are not authenticated and run as this identity. */
  unsafeUnauthenticated?: Identity;
  /** Connection hardening (src/http/edge.ts); absent: Node's defaults. */
  limits?: EdgeLimits;
  /** HTTPS (src/http/edge.ts); absent: plain HTTP. */
  tls?: EdgeTls;
  /** Request quotas (src/quotas): throws ThrottlingException for a call over quota. */
  quotas?: { check(service: string, operation: string, caller: Identity): void };
  /** Metrics (src/metrics, docs/METRICS.md): both pipelines report every answered call here. */
  observe?(api: string, operation: string, outcome: string, seconds: number): void;
}

const routeTables = new WeakMap<FastifyInstance, readonly AdminRoute[]>();
const rawLanes = new WeakMap<FastifyInstance, RawLane>();

/** The raw lane in front of an app's server (test/raw-lane.test.ts counts what it served). */
export function rawLaneOf(app: FastifyInstance): RawLane | undefined {
  return rawLanes.get(app);
}

/** The admin route table an app serves (tests walk it: every route refuses strangers and is audited). */
export function adminRoutesOf(app: FastifyInstance): readonly AdminRoute[] {
  return routeTables.get(app) ?? [];
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const json = new AwsJsonProtocol();
  for (const s of opts.services) json.register(s.targetPrefix, s);
  const query = new QueryProtocol([opts.iam.region]);
  query.register(stsService(opts.iam));
  for (const s of opts.queryServices ?? []) query.register(s);
  // the order matters: the first protocol that accepts a POST / request serves it; AWS JSON last
  const protocols: Protocol[] = [query, json];

  // every request refused before routing is audited, at a bounded cost (refused.ts)
  let logError = (err: unknown): void => void err;
  const refused = new RefusedRequests(opts.audit, { region: opts.region, log: (err) => logError(err) });
  /** Errors raised before a route runs (body limit, bad URL, no route) in the request's protocol shape. */
  const sendEarlyError = (req: FastifyRequest, reply: FastifyReply, rk: RekeyError): unknown => {
    refused.record({ requestId: req.id, sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), method: req.method, url: req.url, error: rk });
    if (req.url.startsWith('/v1')) return reply.code(rk.status).send({ error: rk.code, message: rk.message, requestId: req.id });
    if (req.method === 'POST' && query.accepts(req)) return query.sendError(reply, rk, req.id, null);
    return sendAwsError(reply, rk, req.id);
  };
  const frameworkError = (err: unknown, req: FastifyRequest): RekeyError => {
    const e = err as { code?: string };
    if (err instanceof RekeyError) return err;
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new RequestEntityTooLargeException(`Request body exceeds the maximum of ${opts.bodyLimitBytes} bytes.`);
    if (e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new SerializationException('The request body could not be read.');
    if (e.code === 'FST_ERR_BAD_URL') return new SerializationException('The request URL is not valid.');
    if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') return new RequestUriTooLongException('A path parameter of the request URL is too long.');
    req.log.error({ err, requestId: req.id }, 'unexpected error');
    return new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
  };

  const edge = opts.limits ? serverOptions(opts.limits, opts.tls) : { keepAliveTimeout: 65_000, requestTimeout: 30_000 };
  // canonical AWS JSON calls skip fastify (raw-lane.ts); set once the pipeline's dependencies exist
  let lane: RawLane | null = null;
  const app = Fastify({
    ...edge,
    // the server fastify would build (lib/server.js), with the raw lane in front of fastify's handler
    serverFactory: (handler) => {
      const listener = (req: IncomingMessage, res: ServerResponse): void => {
        if (lane?.takes(req)) lane.serve(req, res);
        else handler(req, res);
      };
      const server = 'https' in edge && edge.https ? createHttpsServer(edge.https, listener) : createHttpServer('http' in edge && edge.http ? edge.http : {}, listener);
      server.keepAliveTimeout = edge.keepAliveTimeout;
      server.requestTimeout = edge.requestTimeout;
      return server;
    },
    bodyLimit: opts.bodyLimitBytes,
    logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel },
    // no per-request log lines: they cost throughput and the audit trail is the record of requests
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    // bad URL (400) and over-long path parameter (414): the protocol's error shape, not fastify's
    frameworkErrors: (err, req, reply) => sendEarlyError(req, reply, frameworkError(err, req)),
    // malformed HTTP (400), slow request (408), headers too large (431): the request never parsed,
    // so no path is known; the answer is in AWS JSON's shape (the protocol of POST / by default)
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const rk = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new RequestTimeoutException('The request was not received in time.')
        : err.code === 'HPE_HEADER_OVERFLOW' ? new RequestHeaderFieldsTooLargeException('The request headers exceed the maximum size.')
          : new SerializationException('The HTTP request could not be parsed.');
      refused.record({ requestId: randomUUID(), sourceIp: socket.remoteAddress ?? '', userAgent: '', error: rk });
      const body = JSON.stringify({ __type: rk.code, message: rk.message });
      if (socket.writable) {
        socket.write(`HTTP/1.1 ${rk.status} ${STATUS_CODES[rk.status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: ${rk.code}\r\nConnection: close\r\n\r\n${body}`);
      }
      socket.destroy(err);
    },
  });
  if (opts.limits) guardConnections(app.server, opts.limits);
  logError = (err) => app.log.error({ err }, 'refused request could not be audited');
  app.addHook('onClose', async () => refused.flush());

  // Every body is read as raw bytes: SigV4 hashes the exact payload, and each protocol parses it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: unknown, req, reply) => sendEarlyError(req, reply, frameworkError(err, req)));
  app.setNotFoundHandler((req, reply) => sendEarlyError(req, reply, new RouteNotFoundException(req.url.split('?')[0] === '/metrics'
    // the API port never serves metrics (docs/METRICS.md, "Access")
    ? 'No route GET /metrics: metrics are served on their own listener (metrics.listen, REKEY_METRICS_LISTEN), see docs/METRICS.md'
    : !opts.proxy && /^\/v1\/proxy(\/|$|\?)/.test(req.url) ? 'This server runs no PostgreSQL proxy: configure proxy.targets (docs/PROXY.md)'
    : `No route ${req.method} ${req.url.split('?')[0]!.slice(0, 256)}`)));

  const tls = opts.tls;
  const pipeline = {
    region: opts.region,
    authenticate: (req: Parameters<IamService['authenticate']>[0], signingName: string, regions?: readonly string[]) => opts.iam.authenticate(req, signingName, regions),
    ...(tls ? { checkClient: (req: FastifyRequest, caller: Identity) => checkClientCertificate(req.raw, caller, tls.clientAuth) } : {}),
    ...(opts.quotas ? { quotas: opts.quotas } : {}),
    audit: opts.unsafeNoAudit ? UNAUDITED : opts.audit,
    ...(opts.unsafeUnauthenticated ? { unauthenticatedAs: opts.unsafeUnauthenticated } : {}),
    ...(opts.observe ? { observe: opts.observe } : {}),
  };
  app.post('/', (req, reply) => serveAwsCall(req, reply, protocols.find((p) => p.accepts(req))!, pipeline));
  lane = new RawLane({ bodyLimitBytes: opts.bodyLimitBytes, protocol: json, deps: pipeline, log: app.log });
  rawLanes.set(app, lane);
  // while the server closes, fastify answers every request (503, Connection: close)
  app.addHook('preClose', (done) => {
    lane?.close();
    done();
  });

  const scope = { region: opts.region, accountId: opts.iam.accountId };
  const routes: AdminRoute[] = [
    ...iamRoutes(opts.iam),
    ...jobsRoutes(opts.jobs, scope),
    ...auditRoutes(opts.audit, scope),
    ...(opts.proxy ? proxyRoutes(opts.proxy, scope) : []),
    ...(opts.adminRoutes ?? []),
  ];
  registerAdminRoutes(app, {
    region: opts.region, accountId: opts.iam.accountId, audit: opts.audit,
    authenticate: (req, signingName) => opts.iam.authenticate(req, signingName),
    authorize: (caller, action, resource, info) => void opts.iam.authorizeAdmin(caller, action, resource, info),
    ...(opts.quotas ? { quotas: opts.quotas } : {}),
    ...(opts.observe ? { observe: opts.observe } : {}),
  }, routes);
  routeTables.set(app, Object.freeze([...routes]));
  registerAdmin(app, { version: opts.version, extraPaths: adminOpenApiPaths(routes), schemas: { Job: JOB_SCHEMA } });
  // the web console (console.ts, docs/CONSOLE.md): static files; its data comes through the routes above
  registerConsole(app, { region: opts.region });
  return app;
}
