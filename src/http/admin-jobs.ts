// Admin routes for the job engine, under /v1/jobs, as data (src/http/admin-routes.ts). Adapts
// JobsAdmin (src/jobs/engine.ts); decides nothing itself.
//
//   GET  /v1/jobs?state=&kind=&limit=&nextToken=   -> { jobs: JobView[], nextToken? }  (oldest first)
//   GET  /v1/jobs/:id                              -> JobView
//   POST /v1/jobs/:id/retry                        -> JobView  (failed/cancelled: resume; queued: run now)
//   POST /v1/jobs/:id/cancel                       -> JobView
//
// Every call is SigV4-signed (credential scope service "iam", as the rest of rekey's admin API)
// and authorized by the caller's identity policies:
//   rekey:ListJobs on arn:aws:rekey:<region>:<account>:job/*
//   rekey:GetJob | rekey:RetryJob | rekey:CancelJob on arn:aws:rekey:<region>:<account>:job/<id>
import { NotFoundException } from '../errors.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';
import type { JobsAdmin } from '../jobs/engine.ts';
import type { RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import { type Job, type JobStateName, JOB_STATES } from '../jobs/model.ts';

/** A job as the admin API shows it: the stored Job with its dates as ISO 8601 strings (inside rekey they are epoch ms). */
export type JobView = Omit<Job, 'v' | 'runAt' | 'lease' | 'lastError' | 'createdAt' | 'updatedAt' | 'finishedAt'> & {
  runAt: string;
  lease: { owner: string; expiresAt: string } | null;
  lastError?: Omit<NonNullable<Job['lastError']>, 'at'> & { at: string };
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
};

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

/** The engine, and (JobEngine) its per-call view whose writes pass the call's audit gate. */
export type JobsAdminWithGate = JobsAdmin & { forCall?(gate: WriteGate): JobsAdmin };

export function jobsRoutes(engine: JobsAdminWithGate, scope: { region: string; accountId: string }): AdminRoute[] {
  // retry / cancel: the event is recorded right before the job's write (none when the job refuses)
  const gated = engine.forCall ? { gate: 'operation' as const } : {};
  const forCall = (request: RequestFacts): JobsAdmin => (engine.forCall && request.beforeCommit ? engine.forCall(new WriteGate(request.beforeCommit)) : engine);
  const arn = (id: string) => `arn:aws:rekey:${scope.region}:${scope.accountId}:job/${id}`;
  const id = (input: AdminInput) => String(input['id'] ?? '');
  const one = { params: idParams };
  return [
    {
      method: 'GET', url: '/v1/jobs', action: 'rekey:ListJobs', summary: 'List jobs, oldest first', schema: { querystring: listQuery },
      audit: ['state', 'kind', 'limit', 'nextToken'], resource: () => arn('*'),
      run: async (q) => {
        const page = await engine.list({
          ...(q['state'] ? { state: q['state'] as JobStateName } : {}), ...(q['kind'] ? { kind: q['kind'] as string } : {}),
          ...(q['limit'] !== undefined ? { limit: q['limit'] as number } : {}), ...(q['nextToken'] ? { after: q['nextToken'] as string } : {}),
        });
        return { jobs: page.jobs.map(jobView), ...(page.next ? { nextToken: page.next } : {}) };
      },
    },
    {
      method: 'GET', url: '/v1/jobs/:id', action: 'rekey:GetJob', summary: 'One job', schema: one, audit: ['id'], resource: (i) => arn(id(i)),
      run: async (i) => {
        const job = await engine.get(id(i));
        if (!job) throw new NotFoundException(`Job ${id(i)} does not exist`);
        return jobView(job);
      },
    },
    {
      method: 'POST', url: '/v1/jobs/:id/retry', action: 'rekey:RetryJob', summary: 'Resume a failed or cancelled job at the step where it stopped (or run a waiting job now)',
      schema: one, audit: ['id'], resource: (i) => arn(id(i)), ...gated, run: async (i, { request }) => jobView(await forCall(request).retry(id(i))),
    },
    {
      method: 'POST', url: '/v1/jobs/:id/cancel', action: 'rekey:CancelJob', summary: 'Cancel a queued or running job; a running job stops before its next step',
      schema: one, audit: ['id'], resource: (i) => arn(id(i)), ...gated, run: async (i, { request }) => jobView(await forCall(request).cancel(id(i))),
    },
  ];
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
