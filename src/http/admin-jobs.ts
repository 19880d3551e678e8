// Admin REST for the job engine, under /v1/jobs. Adapts JobsAdmin (src/jobs/engine.ts); decides
// nothing itself. Errors are RekeyErrors, serialized by the app's /v1 error handler as
// { error, message, requestId }; statuses come from the error taxonomy (src/errors.ts).
//
//   GET  /v1/jobs?state=&kind=&limit=&nextToken=   -> { jobs: JobView[], nextToken? }  (oldest first)
//   GET  /v1/jobs/:id                              -> JobView
//   POST /v1/jobs/:id/retry                        -> JobView  (failed/cancelled: resume; queued: run now)
//   POST /v1/jobs/:id/cancel                       -> JobView
//
// With `iam`, every call is SigV4-signed (credential scope service "iam", as the rest of rekey's
// admin API) and authorized by the caller's identity policies:
//   rekey:ListJobs on arn:aws:rekey:<region>:<account>:job/*
//   rekey:GetJob | rekey:RetryJob | rekey:CancelJob on arn:aws:rekey:<region>:<account>:job/<id>
import { signedRequestOf } from './signed-request.ts';
import type { AdminCallRecord } from './admin-call.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InternalFailure, NotFoundException, RekeyError, ValidationException } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';
import type { IamService } from '../iam/service.ts';
import type { JobsAdmin } from '../jobs/engine.ts';
import { type Job, type JobStateName, JOB_STATES } from '../jobs/model.ts';

export interface JobsAdminOptions {
  /** Authenticates and authorizes every call (see above). Without it the routes are open: tests only. */
  iam?: IamService;
  /** Called once per call, after it ran and before the response (the audit trail). If it throws, the response is an internal error. */
  onCall?: (call: JobsAdminCall) => Promise<void> | void;
}

export type JobsAdminCall = AdminCallRecord<'rekey:ListJobs' | 'rekey:GetJob' | 'rekey:RetryJob' | 'rekey:CancelJob'>;

/** A job as the admin API shows it: dates as ISO 8601 strings (inside rekey they are epoch ms). */
export interface JobView {
  id: string;
  kind: string;
  target: string;
  step: string;
  state: JobStateName;
  attempt: number;
  maxAttempts: number;
  runAt: string;
  lease: { owner: string; expiresAt: string } | null;
  progress?: { done: number; total: number; message?: string };
  lastError?: { name: string; message: string; step: string; attempt: number; at: string };
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  data: unknown;
  dedupeKey?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function jobView(j: Job): JobView {
  return {
    id: j.id, kind: j.kind, target: j.target, step: j.step, state: j.state, attempt: j.attempt, maxAttempts: j.maxAttempts,
    runAt: iso(j.runAt), lease: j.lease ? { owner: j.lease.owner, expiresAt: iso(j.lease.expiresAt) } : null,
    ...(j.progress ? { progress: j.progress } : {}),
    ...(j.lastError ? { lastError: { ...j.lastError, at: iso(j.lastError.at) } } : {}),
    createdAt: iso(j.createdAt), updatedAt: iso(j.updatedAt),
    ...(j.finishedAt !== undefined ? { finishedAt: iso(j.finishedAt) } : {}),
    data: j.data,
    ...(j.dedupeKey !== undefined ? { dedupeKey: j.dedupeKey } : {}),
  };
}

const JOB_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
const idParams = {
  type: 'object', required: ['id'], additionalProperties: false,
  properties: { id: { type: 'string', pattern: JOB_ID_PATTERN } },
} as const;
const listQuery = {
  type: 'object', additionalProperties: false,
  properties: {
    state: { type: 'string', enum: [...JOB_STATES] },
    kind: { type: 'string', pattern: '^[a-z][a-z0-9._-]{0,63}$' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    nextToken: { type: 'string', pattern: JOB_ID_PATTERN },
  },
} as const;

export function registerJobsAdmin(app: FastifyInstance, engine: JobsAdmin, opts: JobsAdminOptions = {}): void {
  const arn = (id: string) => `arn:aws:rekey:${opts.iam?.region ?? ''}:${opts.iam?.accountId ?? ''}:job/${id}`;

  /** Validation, authentication, authorization and the onCall record around one route's work. */
  const route = <T>(action: JobsAdminCall['action'], resourceId: (req: FastifyRequest) => string, work: (req: FastifyRequest) => Promise<T>) =>
    async (req: FastifyRequest): Promise<T> => {
      let identity: Identity | undefined;
      let result: T | undefined;
      let error: RekeyError | undefined;
      const resource = arn(resourceId(req));
      try {
        if (opts.iam) {
          identity = await opts.iam.authenticate(signedRequestOf(req), 'iam');
          opts.iam.authorizeAdmin(identity, action, resource, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
        }
        // attachValidation: schema failures reach us as data, so they become the project's own
        // ValidationException instead of Fastify's error shape (after authentication: strangers learn nothing).
        if (req.validationError) throw new ValidationException(`Invalid request: ${req.validationError.message}`);
        result = await work(req);
      } catch (e) {
        error = e instanceof RekeyError ? e : undefined;
        if (!error) {
          req.log.error({ err: e, requestId: req.id }, 'unexpected error');
          error = new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
        }
      }
      await opts.onCall?.({
        action, resource, requestId: req.id, parameters: { ...(req.params as object), ...(req.query as object) },
        sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? ''), ...(identity ? { identity } : {}), ...(error ? { error } : {}),
      });
      if (error) throw error;
      return result as T;
    };
  const idOf = (req: FastifyRequest) => String((req.params as { id?: unknown }).id ?? '');

  app.get('/v1/jobs', { schema: { querystring: listQuery }, attachValidation: true }, route('rekey:ListJobs', () => '*', async (req) => {
    const q = req.query as { state?: JobStateName; kind?: string; limit?: number; nextToken?: string };
    const page = await engine.list({
      ...(q.state ? { state: q.state } : {}), ...(q.kind ? { kind: q.kind } : {}),
      ...(q.limit !== undefined ? { limit: q.limit } : {}), ...(q.nextToken ? { after: q.nextToken } : {}),
    });
    return { jobs: page.jobs.map(jobView), ...(page.next ? { nextToken: page.next } : {}) };
  }));

  app.get('/v1/jobs/:id', { schema: { params: idParams }, attachValidation: true }, route('rekey:GetJob', idOf, async (req) => {
    const job = await engine.get(idOf(req));
    if (!job) throw new NotFoundException(`Job ${idOf(req)} does not exist`);
    return jobView(job);
  }));

  app.post('/v1/jobs/:id/retry', { schema: { params: idParams }, attachValidation: true }, route('rekey:RetryJob', idOf, async (req) => jobView(await engine.retry(idOf(req)))));

  app.post('/v1/jobs/:id/cancel', { schema: { params: idParams }, attachValidation: true }, route('rekey:CancelJob', idOf, async (req) => jobView(await engine.cancel(idOf(req)))));
}

/** OpenAPI paths for these routes, to merge into the document served at /v1/openapi.json. */
export function jobsOpenApiPaths(): Record<string, unknown> {
  const job = { $ref: '#/components/schemas/Job' };
  const err = { description: 'Error', content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } } } } } };
  const one = (summary: string) => ({
    summary,
    description: 'SigV4-signed (credential scope service "iam").',
    parameters: [{ name: 'id', in: 'path', required: true, schema: idParams.properties.id }],
    responses: { '200': { description: 'The job', content: { 'application/json': { schema: job } } }, default: err },
  });
  return {
    '/v1/jobs': {
      get: {
        summary: 'List jobs, oldest first',
        description: 'SigV4-signed (credential scope service "iam"). Requires rekey:ListJobs.',
        parameters: Object.entries(listQuery.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
        responses: { '200': { description: 'A page of jobs', content: { 'application/json': { schema: { type: 'object', properties: { jobs: { type: 'array', items: job }, nextToken: { type: 'string' } } } } } }, default: err },
      },
    },
    '/v1/jobs/{id}': { get: one('One job') },
    '/v1/jobs/{id}/retry': { post: one('Resume a failed or cancelled job at the step where it stopped (or run a waiting job now)') },
    '/v1/jobs/{id}/cancel': { post: one('Cancel a queued or running job; a running job stops before its next step') },
  };
}

/** components.schemas entry for the OpenAPI document. */
export const JOB_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' }, kind: { type: 'string' }, target: { type: 'string' }, step: { type: 'string' },
    state: { type: 'string', enum: [...JOB_STATES] }, attempt: { type: 'integer' }, maxAttempts: { type: 'integer' },
    runAt: { type: 'string', format: 'date-time' },
    lease: { type: 'object', nullable: true, properties: { owner: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } },
    progress: { type: 'object', properties: { done: { type: 'number' }, total: { type: 'number' }, message: { type: 'string' } } },
    lastError: { type: 'object', properties: { name: { type: 'string' }, message: { type: 'string' }, step: { type: 'string' }, attempt: { type: 'integer' }, at: { type: 'string', format: 'date-time' } } },
    createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' }, data: {}, dedupeKey: { type: 'string' },
  },
} as const;
