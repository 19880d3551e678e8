import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundException } from '../errors.ts';
import type { SigningCredentials } from '../iam/sigv4-sign.ts';
import { REGION, TestClock, testIam } from '../iam/testing.ts';
import { ManualClock } from '../jobs/clock.ts';
import { JobEngine } from '../jobs/engine.ts';
import { barrierOver } from '../jobs/testdata/fixtures.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { jobsRoutes } from './admin-jobs.ts';
import { adminTestApp } from './testing.ts';

async function setup() {
  const t = await testIam({ clock: new TestClock(Date.UTC(2030, 0, 1)) });
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(new MemoryBackend());
  const engine = new JobEngine({ barrier, clock, nodeId: 'n1', worker: { random: () => 0 } });
  const h = await adminTestApp(t, jobsRoutes(engine, { region: REGION, accountId: t.iam.accountId }));
  return { app: h, audit: h.audit, engine, clock, t };
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

test('retry and cancel follow the job rules; errors are typed', async () => {
  const { app, engine, audit } = await setup();
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
  assert.equal((await app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel` })).json().state, 'cancelled');

  // Statuses come from the error taxonomy (src/errors.ts), as for every other API.
  const NOT_FOUND = new NotFoundException('').status;
  const cases: [string, string, number, string, RegExp][] = [
    ['GET', '/v1/jobs/01234567-89ab-7def-8123-456789abcdef', NOT_FOUND, 'NotFoundException', /^Job 01234567-89ab-7def-8123-456789abcdef does not exist$/],
    ['POST', '/v1/jobs/01234567-89ab-7def-8123-456789abcdef/cancel', NOT_FOUND, 'NotFoundException', /does not exist/],
    ['GET', '/v1/jobs/not-a-job-id', 400, 'ValidationException', /^Invalid request: params\/id must match pattern/],
    ['GET', '/v1/jobs?state=finished', 400, 'ValidationException', /^Invalid request: querystring\/state must be equal to one of the allowed values$/],
    ['GET', '/v1/jobs?limit=0', 400, 'ValidationException', /querystring\/limit must be >= 1/],
  ];
  for (const [method, url, status, code, message] of cases) {
    const r = await app.inject({ method: method as 'GET' | 'POST', url });
    assert.equal(r.statusCode, status, `${url} ${r.body}`);
    assert.equal(r.json().error, code, url);
    assert.match(r.json().message, message, url);
  }
  assert.equal((await app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel` })).statusCode, 200); // cancelling twice: no-op
  engine.registerKind('ok', async () => ({ done: true }));
  const ok = (await engine.enqueue({ kind: 'ok', target: 't', data: null })).job;
  await engine.worker.runDueOnce();
  for (const action of ['retry', 'cancel']) {
    const r = await app.inject({ method: 'POST', url: `/v1/jobs/${ok.id}/${action}` });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error, 'ValidationException');
    assert.match(r.json().message, new RegExp(`^Job ${ok.id} is succeeded; only`));
  }
  // retry and cancel pass the audit gate right before the job's write: a refused call wrote nothing
  // and has one event with its error, not a success event and a correction
  const refused = audit.events.filter((e) => /^(RetryJob|CancelJob)$/.test(e.eventName) && e.errorCode !== undefined);
  assert.deepEqual(refused.map((e) => [e.eventName, e.errorCode]), [['CancelJob', 'NotFoundException'], ['RetryJob', 'ValidationException'], ['CancelJob', 'ValidationException']]);
  assert.ok(audit.events.every((e) => e.additionalEventData === undefined));
});

test('with IAM: every call is SigV4-signed and authorized per action and job', async () => {
  const { app, engine, t, audit } = await setup();
  const { job } = await engine.enqueue({ kind: 'kms.rotate', target: 'k', data: null });
  const call = async (creds: SigningCredentials | null, method: 'GET' | 'POST', path: string) => {
    const r = await app.inject({ method, url: path, creds });
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  const unsigned = await call(null, 'GET', '/v1/jobs');
  assert.equal(unsigned.body['error'], 'MissingAuthenticationTokenException');
  assert.equal((await call(t.admin, 'GET', '/v1/jobs')).status, 200);
  // A user allowed to read jobs only.
  const user = await t.iam.principals.createUser('oncall');
  const key = await t.iam.accessKeys.create(user);
  await t.iam.principals.putPolicy('user', 'oncall', 'read-jobs', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['rekey:GetJob', 'rekey:ListJobs'], Resource: '*' }] }));
  const oncall = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  assert.equal((await call(oncall, 'GET', `/v1/jobs/${job.id}`)).status, 200);
  assert.equal((await call(oncall, 'GET', '/v1/jobs?state=queued')).status, 200);
  const denied = await call(oncall, 'POST', `/v1/jobs/${job.id}/cancel`);
  assert.equal(denied.body['error'], 'AccessDeniedException');
  const arn = `arn:aws:rekey:${REGION}:${t.iam.accountId}:job/${job.id}`;
  assert.match(String(denied.body['message']), new RegExp(`^User: arn:aws:iam::${t.iam.accountId}:user/oncall is not authorized to perform: rekey:CancelJob on resource: ${arn}`));
  assert.equal((await engine.get(job.id))?.state, 'queued'); // nothing happened
  assert.equal((await call(t.admin, 'POST', `/v1/jobs/${job.id}/cancel`)).body['state'], 'cancelled');
  // One audit event per call, with who, what and the outcome.
  assert.deepEqual(audit.events.map((e) => [e.eventName, e.errorCode ?? 'ok']), [
    ['ListJobs', 'MissingAuthenticationTokenException'], ['ListJobs', 'ok'], ['GetJob', 'ok'], ['ListJobs', 'ok'],
    ['CancelJob', 'AccessDeniedException'], ['CancelJob', 'ok'],
  ]);
  assert.deepEqual(audit.events[5]!.resources.map((r) => r.ARN), [arn]);
  assert.equal(audit.events[4]!.userIdentity.arn, `arn:aws:iam::${t.iam.accountId}:user/oncall`);
});
