import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { NotFoundException } from '../errors.ts';
import { AccessKeyStore } from '../iam/access-keys.ts';
import { ManualClock } from '../jobs/clock.ts';
import { JobEngine } from '../jobs/engine.ts';
import { barrierOver } from '../jobs/testdata/fixtures.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { registerJobsAdmin } from './admin-jobs.ts';
import { buildApp } from './app.ts';

async function setup(): Promise<{ app: FastifyInstance; engine: JobEngine; clock: ManualClock }> {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(new MemoryBackend());
  const engine = new JobEngine({ barrier, clock, nodeId: 'n1', worker: { random: () => 0 } });
  // The real app: its /v1 error handler is what turns our errors into responses.
  const app = await buildApp({ region: 'us-east-1', bodyLimitBytes: 65536, accessKeys: new AccessKeyStore(barrier), services: [], logLevel: 'silent', version: 'test' });
  registerJobsAdmin(app, engine);
  return { app, engine, clock };
}

test('GET /v1/jobs lists with filters and a nextToken; GET /v1/jobs/:id shows one job with ISO dates', async () => {
  const { app, engine, clock } = await setup();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    ids.push((await engine.enqueue({ kind: i < 3 ? 'kms.rotate' : 'kms.delete', target: `key-${i}`, data: { i } })).job.id);
  }
  await engine.cancel(ids[4]!);
  const first = await app.inject({ method: 'GET', url: '/v1/jobs?limit=2' });
  assert.equal(first.statusCode, 200);
  const p1 = first.json() as { jobs: { id: string }[]; nextToken: string };
  assert.deepEqual(p1.jobs.map((j) => j.id), ids.slice(0, 2));
  const p2 = (await app.inject({ method: 'GET', url: `/v1/jobs?limit=10&nextToken=${p1.nextToken}` })).json() as { jobs: { id: string }[]; nextToken?: string };
  assert.deepEqual(p2.jobs.map((j) => j.id), ids.slice(2));
  assert.equal(p2.nextToken, undefined);
  const byKind = (await app.inject({ method: 'GET', url: '/v1/jobs?kind=kms.delete&state=queued' })).json() as { jobs: { id: string }[] };
  assert.deepEqual(byKind.jobs.map((j) => j.id), [ids[3]]);
  const one = await app.inject({ method: 'GET', url: `/v1/jobs/${ids[0]}` });
  assert.equal(one.statusCode, 200);
  assert.deepEqual(one.json(), {
    id: ids[0], kind: 'kms.rotate', target: 'key-0', step: 'start', state: 'queued', attempt: 0, maxAttempts: 8,
    runAt: '2030-01-01T00:00:01.000Z', lease: null, createdAt: '2030-01-01T00:00:01.000Z', updatedAt: '2030-01-01T00:00:01.000Z', data: { i: 0 },
  });
});

test('retry and cancel follow the job rules; errors are typed with status codes', async () => {
  const { app, engine } = await setup();
  engine.registerKind('always.fails', async () => { throw new Error('upstream unavailable'); });
  const { job } = await engine.enqueue({ kind: 'always.fails', target: 't', data: null, maxAttempts: 1 });
  await engine.worker.runDueOnce();
  const failed = (await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json() as { state: string; lastError: { message: string; at: string } };
  assert.equal(failed.state, 'failed');
  assert.equal(failed.lastError.message, 'upstream unavailable');
  assert.equal(failed.lastError.at, '2030-01-01T00:00:00.000Z');
  const retried = await app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/retry` });
  assert.equal(retried.statusCode, 200);
  assert.equal(retried.json().state, 'queued');
  const cancelled = await app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel` });
  assert.equal(cancelled.json().state, 'cancelled');

  // The status comes from the error taxonomy (src/errors.ts), as for every other API.
  const NOT_FOUND = new NotFoundException('').status;
  const cases: [string, string, number, string, RegExp][] = [
    ['GET', '/v1/jobs/01234567-89ab-7def-8123-456789abcdef', NOT_FOUND, 'NotFoundException', /Job 01234567-89ab-7def-8123-456789abcdef does not exist/],
    ['POST', '/v1/jobs/01234567-89ab-7def-8123-456789abcdef/cancel', NOT_FOUND, 'NotFoundException', /does not exist/],
    ['GET', '/v1/jobs/not-a-job-id', 400, 'ValidationException', /Invalid request: params\/id must match pattern/],
    ['GET', '/v1/jobs?state=finished', 400, 'ValidationException', /Invalid request: querystring\/state must be equal to one of the allowed values/],
    ['GET', '/v1/jobs?limit=0', 400, 'ValidationException', /querystring\/limit must be >= 1/],
    ['POST', `/v1/jobs/${job.id}/cancel`, 200, '', /./], // cancelling a cancelled job is a no-op
  ];
  for (const [method, url, status, code, message] of cases) {
    const r = await app.inject({ method: method as 'GET' | 'POST', url });
    assert.equal(r.statusCode, status, `${url} ${r.body}`);
    if (status !== 200) {
      assert.equal(r.json().error, code, url);
      assert.match(r.json().message, message, url);
      assert.ok(r.json().requestId);
    }
  }
  // A succeeded job can be neither retried nor cancelled: 400 with the reason.
  engine.registerKind('ok', async () => ({ done: true }));
  const ok = (await engine.enqueue({ kind: 'ok', target: 't', data: null })).job;
  await engine.worker.runDueOnce();
  for (const action of ['retry', 'cancel']) {
    const r = await app.inject({ method: 'POST', url: `/v1/jobs/${ok.id}/${action}` });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error, 'ValidationException');
    assert.match(r.json().message, new RegExp(`Job ${ok.id} is succeeded; only`));
  }
});
