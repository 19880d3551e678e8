// `rekey incident compromised-credentials` over a database secret behind the proxy, against a real
// PostgreSQL (scram-sha-256): the secret is rotated now by its built-in strategy
// (postgresql-single-user, the version id is the incident id), the client session that logged in
// through the proxy with the leaked password is ended (57P01), the new password works through the
// proxy and the leaked one no longer logs in, and the signed report lists the secret's uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startPostgres } from './helpers/pg.ts';
import { createRole } from './helpers/proxy.ts';
import { lambdaArn } from './helpers/db-rotation-api.ts';
import { startTestServer } from './helpers/server.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import type { IncidentReport } from '../src/compliance/incident/report.ts';

test('a leaked database secret: rotated now, its proxy sessions ended, its uses reported', { timeout: 240_000 }, async (t) => {
  const db = await startPostgres();
  t.after(() => db.stop());
  const first = await createRole(db, 'app');
  const dir = mkdtempSync(join(tmpdir(), 'rekey-incident-cred-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: ['app/db'] }] },
  }));
  const s = await startTestServer({ env: { REKEY_CONFIG: join(dir, 'rekey.json'), REKEY_AUDIT_STDOUT: 'false' } });
  t.after(() => s.cleanup());
  const sm = s.secretsClient();
  const created = await sm.send(new CreateSecretCommand({ Name: 'app/db', SecretString: JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: db.port, username: 'app', password: first, dbname: db.database }) }));
  // rotation configured (not started): what the incident will use
  await sm.send(new RotateSecretCommand({ SecretId: created.ARN!, RotationLambdaARN: lambdaArn('postgresql-single-user'), RotateImmediately: false }));

  const proxyPort = s.proxy!.address('app').port;
  const viaProxy = (password: string) => new pg.Client({ host: '127.0.0.1', port: proxyPort, user: 'app', password, database: db.database });
  const session = viaProxy(first);
  const ended = new Promise<Error & { code?: string }>((resolve) => session.on('error', resolve));
  await session.connect();
  assert.equal((await session.query('SELECT current_user AS u')).rows[0].u, 'app');

  const r = await rekeyCli(['incident', 'compromised-credentials', created.ARN!, '--wait', '--endpoint', s.url]);
  assert.equal(r.status, 0, r.err + r.out);
  const report = JSON.parse(r.out.slice(r.out.indexOf('{'))) as IncidentReport;
  t.diagnostic(report.actions.map((a) => `${a.step}: ${a.outcome}`).join('\n'));

  // rotated now: the incident's version is AWSCURRENT
  const stages = (await sm.send(new DescribeSecretCommand({ SecretId: created.ARN! }))).VersionIdsToStages!;
  assert.deepEqual(stages[report.incident.id], ['AWSCURRENT']);
  assert.deepEqual(report.notes, []);
  // the session that logged in with the leaked password was ended by the proxy
  const e = await ended;
  assert.equal(e.code, '57P01', e.message);
  assert.match(report.actions.find((a) => a.step === 'sessions')!.outcome, /^1 proxy session\(s\) that logged in with the secret ended/);
  // the new password works through the proxy; the leaked one no longer logs in to the database
  const now = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: created.ARN! }))).SecretString!) as { password: string };
  assert.notEqual(now.password, first);
  const c = viaProxy(now.password);
  await c.connect();
  assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, 'app');
  await c.end();
  const direct = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'app', password: first, database: db.database });
  await assert.rejects(direct.connect(), (err: Error & { code?: string }) => err.code === '28P01');
  // its uses: the calls naming the secret
  const names = new Set(report.uses.events.map((u) => u.eventName));
  for (const n of ['CreateSecret', 'RotateSecret']) assert.ok(names.has(n), `${n} among ${[...names].join(',')}`);
  assert.equal(report.credential?.arn, created.ARN);
});
