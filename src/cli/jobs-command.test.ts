import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Command } from 'commander';
import { RekeyError } from '../errors.ts';
import { jobsRoutes } from '../http/admin-jobs.ts';
import { adminTestApp } from '../http/testing.ts';
import { TestClock, testIam } from '../iam/testing.ts';
import { ManualClock } from '../jobs/clock.ts';
import { JobEngine } from '../jobs/engine.ts';
import { barrierOver } from '../jobs/testdata/fixtures.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { httpJobsClient, registerJobsCommands } from './jobs-command.ts';

test('rekey jobs ls|show|retry|cancel against a real server', async (tc) => {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(new MemoryBackend());
  const engine = new JobEngine({ barrier, clock, nodeId: 'n1' });
  // The CLI signs with the real time, so the server's IAM clock is the real time too.
  const t = await testIam({ clock: new TestClock(Date.now()) });
  const creds = { AWS_ACCESS_KEY_ID: t.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: t.admin.secretAccessKey };
  // the one admin pipeline (src/http/admin-routes.ts) around the jobs routes
  const { app } = await adminTestApp(t, jobsRoutes(engine, { region: t.iam.region, accountId: t.iam.accountId }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  tc.after(() => app.close());
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  engine.registerKind('always.fails', async () => { throw new Error('database refused the connection'); });
  const a = (await engine.enqueue({ kind: 'kms.rotate', target: 'arn:aws:kms:us-east-1:111122223333:key/1234', data: { keyId: '1234' } })).job;
  clock.advance(1000);
  const b = (await engine.enqueue({ kind: 'always.fails', target: 'secret-1', data: null, maxAttempts: 1 })).job;
  await engine.worker.runDueOnce();

  let out = '';
  let env: Record<string, string> = creds;
  const run = async (...args: string[]) => {
    out = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerJobsCommands(program, httpJobsClient, { out: (s) => { out += s; }, env: { REKEY_ENDPOINT: url, ...env } });
    await program.parseAsync(args, { from: 'user' });
    return out;
  };

  const table = (await run('jobs', 'ls')).split('\n');
  assert.match(table[0]!, /^ID\s+KIND\s+TARGET\s+STATE\s+STEP\s+ATTEMPT\s+RUN AT$/);
  assert.match(table[1]!, new RegExp(`^${a.id}\\s+kms\\.rotate\\s+…aws:kms:us-east-1:111122223333:key/1234\\s+queued\\s+start\\s+0/8\\s+2030-01-01T00:00:00.000Z$`));
  assert.match(table[2]!, new RegExp(`^${b.id}\\s+always\\.fails\\s+secret-1\\s+failed\\s+start\\s+1/1\\s+2030-01-01T00:00:01.000Z$`));

  const page = JSON.parse(await run('jobs', 'ls', '--state', 'failed', '--json', '--endpoint', url));
  assert.deepEqual(page.jobs.map((j: { id: string }) => j.id), [b.id]);
  assert.match(await run('jobs', 'ls', '--limit', '1'), new RegExp(`more: rekey jobs ls --next-token ${a.id}`));
  assert.equal((await run('jobs', 'ls', '--limit', '1', '--all', '--json')).includes(b.id), true);
  assert.equal(await run('jobs', 'ls', '--kind', 'kms.delete'), 'no jobs\n');

  const shown = await run('jobs', 'show', b.id);
  assert.match(shown, /state:\s+failed/);
  assert.match(shown, /last error:\s+Error: database refused the connection \(step start, attempt 1, 2030-01-01T00:00:01.000Z\)/);
  assert.equal(JSON.parse(await run('jobs', 'show', a.id, '--json')).data.keyId, '1234');
  assert.equal(await run('jobs', 'retry', b.id), `job ${b.id}: queued at step start\n`);
  assert.equal(await run('jobs', 'cancel', a.id), `job ${a.id}: cancelled at step start\n`);

  // Server errors arrive as the same typed errors (the main CLI prints "rekey: <code>: <message>").
  await assert.rejects(run('jobs', 'show', '01234567-89ab-7def-8123-456789abcdef'), (e: Error) => e instanceof RekeyError && e.name === 'NotFoundException' && /does not exist/.test(e.message));
  await assert.rejects(run('jobs', 'cancel', a.id.replace(/.$/, 'x')), (e: Error) => e.name === 'ValidationException' && /params\/id must match pattern/.test(e.message));
  assert.equal(await run('jobs', 'retry', a.id), `job ${a.id}: queued at step start\n`); // a cancelled job resumes
  const closed = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  await assert.rejects(run('jobs', 'ls', '--endpoint', `http://127.0.0.1:${closed}`), (e: Error) => e.name === 'ConfigurationError' && e.message === `cannot reach the rekey server at http://127.0.0.1:${closed} (ECONNREFUSED); is it running? Set --endpoint or REKEY_ENDPOINT.`);
  await assert.rejects(run('jobs', 'ls', '--limit', '0'), /--limit must be an integer from 1 to 1000/);
  // Without credentials no request leaves: the same message as every command's
  env = {};
  await assert.rejects(run('jobs', 'ls'), (e: Error) => e.name === 'ConfigurationError' && /^no credentials: set AWS_ACCESS_KEY_ID/.test(e.message));
});
