// Alarms end to end (docs/ALARMS.md, issue 18 item 2): a real server, real events — a denied
// Encrypt, DisableKey, a failing secret rotation, a proxy that cannot log in, an audit file sink on
// /dev/full, a certificate near expiry on a moved clock, an instance whose key is inaccessible (the
// RDS test double's status) — each fires its built-in alarm, and the state change arrives as a
// webhook on a local HTTP server whose HMAC-SHA256 signature is checked here with node:crypto (not
// rekey's own code), or as an RFC 5424 syslog message. No sleeps: every wait is for a request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { CreateKeyCommand, DisableKeyCommand, EncryptCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { signRequest } from '../src/iam/sigv4-sign.ts';
import { errorResponse } from '../src/proxy/protocol.ts';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';
import type { DbInstance } from '../src/db/api.ts';
import type { RotationStrategy } from '../src/secrets/strategy.ts';
import { registerAlarmsCommands } from '../src/cli/alarms-command.ts';

/** The alarms' evaluation, without compliance-findings: it follows the server's own scheduled compliance evaluation (test/compliance.test.ts fires it). */
const evaluated = async (srv: TestServer) => (await srv.alarms!.evaluate()).filter((c) => c.name !== 'compliance-findings');
import type { Notification } from '../src/alarms/notify.ts';

// ---- the webhook receiver: records every request; a waiter takes the first matching one
interface Delivery { headers: Record<string, string>; body: string; n: Notification }
class Receiver {
  readonly server: HttpServer;
  readonly all: Delivery[] = [];
  private readonly waiters: { pred: (d: Delivery) => boolean; resolve: (d: Delivery) => void }[] = [];
  /** Alarm names whose next delivery is answered 500 (once). */
  readonly failOnce = new Set<string>();
  failures = 0;
  constructor() {
    this.server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const d: Delivery = { headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body, n: JSON.parse(body) as Notification };
        if (this.failOnce.delete(d.n.AlarmName)) {
          this.failures++;
          res.writeHead(500).end();
          return;
        }
        res.writeHead(204).end();
        this.all.push(d);
        for (const w of [...this.waiters]) if (w.pred(d)) { this.waiters.splice(this.waiters.indexOf(w), 1); w.resolve(d); }
      });
    });
  }
  get url(): string { return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`; }
  next(alarm: string, state: 'OK' | 'ALARM', reason?: RegExp): Promise<Delivery> {
    const pred = (d: Delivery) => d.n.AlarmName === alarm && d.n.NewStateValue === state && (!reason || reason.test(d.n.NewStateReason));
    const seen = this.all.find(pred);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
}

/** Verifies X-Rekey-Signature independently: v1=hex(HMAC-SHA256(secret, "<timestamp>.<body>")). */
function verify(d: Delivery, secret: string, now: number): void {
  const ts = d.headers['x-rekey-timestamp']!;
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Number(ts) - now / 1000) < 300, 'timestamp within 5 minutes of the server clock');
  assert.equal(d.headers['x-rekey-signature'], `v1=${createHmac('sha256', secret).update(`${ts}.${d.body}`).digest('hex')}`);
  assert.notEqual(d.headers['x-rekey-signature'], `v1=${createHmac('sha256', secret).update(`${ts}.${d.body} `).digest('hex')}`);
  assert.equal(d.headers['x-rekey-alarm'], d.n.AlarmName);
}

// ---- the servers and their surroundings
let offset = 0; // the server clock = real time + offset (moved for the certificate test)
const clock = () => new Date(Date.now() + offset);
const hook = new Receiver();
let s: TestServer; // TLS generated, a proxy target, a failing rotation strategy, the RDS double
let f: TestServer; // audit file sink on /dev/full (the store keeps the trail)
let secretA = '';
let secretF = '';
let dir = '';
let upstream: TcpServer;
let syslog: TcpServer;
const syslogLines: string[] = [];
let syslogWaiter: ((line: string) => void) | null = null;
const db = new InMemoryDbServiceForTests({ instant: true });
let inaccessible: DbInstance[] = [];

const failing: RotationStrategy = {
  name: 'test-failing', needsMaster: false, invalidatesCurrent: false,
  createPending: (current, _p, password) => ({ ...current, password }),
  async setSecret() { throw new Error('the test database refuses the new password'); },
  async testSecret() {},
};

async function admin(srv: TestServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const u = new URL(path, srv.url);
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers = signRequest({ method, host: u.host, path: u.pathname, query: '', headers: payload ? { 'content-type': 'application/json' } : {}, body: payload }, TEST_CREDS, { region: 'us-east-1', service: 'iam', now: new Date() });
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const rq = request(u, { method, headers, ...(srv.ca ? { ca: srv.ca } : {}) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { const t = Buffer.concat(chunks).toString(); resolve({ status: res.statusCode ?? 0, json: t ? JSON.parse(t) : {} }); });
    });
    rq.on('error', reject);
    rq.end(payload);
  });
}

before(async () => {
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', () => r()));
  upstream = createTcpServer((sock) => {
    sock.once('data', () => sock.end(errorResponse('FATAL', '28P01', 'password authentication failed for user "app"')));
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  syslog = createTcpServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (let m = /^(\d+) /.exec(buf); m && buf.length >= m[0].length + Number(m[1]); m = /^(\d+) /.exec(buf)) {
        const line = buf.slice(m[0].length, m[0].length + Number(m[1]));
        buf = buf.slice(m[0].length + Number(m[1]));
        syslogLines.push(line);
        syslogWaiter?.(line);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => syslog.listen(0, '127.0.0.1', () => r()));
  dir = mkdtempSync(join(tmpdir(), 'rekey-alarms-'));
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: (upstream.address() as { port: number }).port }, secretIds: ['app-db'], mode: 'session' }] },
  }));
  // the RDS double's instances, with the status the test sets (the metric reads list())
  const list = db.list.bind(db);
  db.list = async (q) => ({ ...(await list(q)), instances: [...(await list(q)).instances, ...inaccessible] });
  const env = { REKEY_ALARMS_WEBHOOK_HTTP_LOOPBACK: '1', REKEY_ALARMS_EVALUATION_SECONDS: '3600' };
  s = await startTestServer({ env: { ...env, REKEY_TLS: 'generated', REKEY_CONFIG: join(dir, 'rekey.json') }, clock, secretStrategies: [failing], db });
  f = await startTestServer({ env: { ...env, REKEY_AUDIT_FILE: '/dev/full' } });
  const a = await admin(s, 'PUT', '/v1/alarms/targets/hook', { type: 'webhook', url: hook.url });
  assert.equal(a.status, 200, JSON.stringify(a.json));
  secretA = a.json.signingSecret;
  const b = await admin(f, 'PUT', '/v1/alarms/targets/hook', { type: 'webhook', url: hook.url });
  secretF = b.json.signingSecret;
  assert.equal((await admin(f, 'PUT', '/v1/alarms/targets/siem', { type: 'syslog', host: '127.0.0.1', port: (syslog.address() as { port: number }).port })).status, 200);
  await s.secretsClient().send(new CreateSecretCommand({ Name: 'app-db', SecretString: JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: (upstream.address() as { port: number }).port, username: 'app', password: 'alarms-Password-1', dbname: 'app' }) }));
});

after(async () => {
  await s?.cleanup();
  await f?.cleanup();
  await new Promise<void>((r) => hook.server.close(() => r()));
  await new Promise<void>((r) => upstream.close(() => r()));
  await new Promise<void>((r) => syslog.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('alarms: every built-in is listed, OK, with no history; a webhook target shows no secret', async () => {
  const r = await admin(s, 'GET', '/v1/alarms');
  assert.equal(r.status, 200);
  const names = r.json.alarms.map((a: { name: string }) => a.name);
  assert.deepEqual(names, ['kms-access-denied', 'kms-key-disabled-or-deletion-scheduled', 'secret-rotation-failed', 'proxy-upstream-login-failed', 'rotation-jobs-failing', 'audit-sink-failing', 'certificate-expiring', 'db-inaccessible-encryption-credentials', 'compliance-findings']);
  for (const a of r.json.alarms) assert.equal(a.builtIn && a.enabled, true);
  const t = await admin(s, 'GET', '/v1/alarms/targets');
  assert.deepEqual(t.json.targets.map((x: { name: string; type: string }) => [x.name, x.type]), [['hook', 'webhook']]);
  assert.ok(!JSON.stringify(t.json).includes(secretA));
  // stored behind the barrier: the backend's bytes hold neither the secret nor the URL in clear
  const raw = await s.backend.get('alarms/targets/hook');
  assert.ok(raw, 'the target is stored under alarms/targets/');
  assert.ok(!Buffer.from(raw.value).toString('latin1').includes(secretA) && !Buffer.from(raw.value).toString('latin1').includes('127.0.0.1'));
  // a healthy server's metric alarms stay OK at evaluation (the audit sinks work, the certificate is new)
  assert.deepEqual(await evaluated(s), []);
});

test('alarms: a denied Encrypt fires kms-access-denied; the first delivery fails (500) and the durable job retries it', async () => {
  const key = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!;
  const u = await s.iam.principals.createUser('nobody');
  const k = await s.iam.accessKeys.create(u);
  hook.failOnce.add('kms-access-denied');
  const got = hook.next('kms-access-denied', 'ALARM');
  await assert.rejects(s.kmsClient({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }).send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })), (e: Error) => e.name === 'AccessDeniedException');
  await s.alarms!.settled();
  offset += 10_000; // past the retry backoff (2 s): the job is due again on the moved clock
  const d = await got;
  assert.equal(hook.failures, 1);
  verify(d, secretA, clock().getTime());
  assert.equal(d.n.OldStateValue, 'OK');
  assert.match(d.n.NewStateReason, /kms\.amazonaws\.com Encrypt AccessDeniedException/);
  assert.match(d.n.AlarmArn, /^arn:aws:rekey:us-east-1:\d{12}:alarm\/kms-access-denied$/);
  // state and history, and the transition in the audit trail
  const g = await admin(s, 'GET', '/v1/alarms/kms-access-denied');
  assert.equal(g.json.state.state, 'ALARM');
  assert.deepEqual(g.json.history.map((h: { from: string; to: string }) => `${h.from}->${h.to}`), ['OK->ALARM']);
  await s.audit.settled();
  const ev = await s.audit.lookup({ eventName: 'AlarmStateChanged' });
  const mine = ev.events.map((r) => r.event).filter((e) => e.additionalEventData?.['alarmName'] === 'kms-access-denied');
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.eventSource, 'rekey.alarms');
  assert.deepEqual({ ...mine[0]!.additionalEventData }, { alarmName: 'kms-access-denied', oldState: 'OK', newState: 'ALARM', reason: d.n.NewStateReason });
});

test('alarms: DisableKey fires kms-key-disabled-or-deletion-scheduled; so does ScheduleKeyDeletion (on the other server)', async () => {
  const kms = s.kmsClient();
  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const got = hook.next('kms-key-disabled-or-deletion-scheduled', 'ALARM');
  await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
  const d = await got;
  verify(d, secretA, clock().getTime());
  assert.match(d.n.NewStateReason, /DisableKey/);
  const other = f.kmsClient();
  const k2 = (await other.send(new CreateKeyCommand({}))).KeyMetadata!;
  const scheduled = hook.next('kms-key-disabled-or-deletion-scheduled', 'ALARM', /ScheduleKeyDeletion/);
  await other.send(new ScheduleKeyDeletionCommand({ KeyId: k2.KeyId, PendingWindowInDays: 7 }));
  verify(await scheduled, secretF, Date.now());
});

test('alarms: a failing rotation step fires secret-rotation-failed (its audit event) and rotation-jobs-failing (the job metric)', async () => {
  const sm = s.secretsClient();
  await sm.send(new CreateSecretCommand({ Name: 'rotating', SecretString: JSON.stringify({ username: 'u', password: 'p' }) }));
  const got = hook.next('secret-rotation-failed', 'ALARM');
  await sm.send(new RotateSecretCommand({ SecretId: 'rotating', RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:rekey-test-failing' }));
  const d = await got;
  verify(d, secretA, clock().getTime());
  assert.match(d.n.NewStateReason, /secretsmanager\.amazonaws\.com RotationFailed/);
  // the job's retrying event was counted before its audit event was written
  const jobs = hook.next('rotation-jobs-failing', 'ALARM');
  assert.deepEqual(await evaluated(s), [{ name: 'rotation-jobs-failing', to: 'ALARM' }]);
  const j = await jobs;
  verify(j, secretA, clock().getTime());
  assert.match(j.n.NewStateReason, /^rekey_job_events_total increase over 3600 s = [1-9]\d* \(GreaterThanThreshold 0\)$/);
});

test('alarms: a proxy that cannot log in to its database fires proxy-upstream-login-failed', async () => {
  const got = hook.next('proxy-upstream-login-failed', 'ALARM');
  const c = new pg.Client({ host: '127.0.0.1', port: s.proxy!.address('app').port, user: 'app', password: 'alarms-Password-1', database: 'app', ssl: false });
  await assert.rejects(c.connect(), (e: { code?: string }) => e.code === '08006');
  c.end().catch(() => {});
  const d = await got;
  verify(d, secretA, clock().getTime());
  assert.match(d.n.NewStateReason, /rekey\.proxy UpstreamLoginFailed/);
});

test('alarms: an audit file sink on /dev/full fires audit-sink-failing (webhook and syslog); a working one does not', async () => {
  const got = hook.next('audit-sink-failing', 'ALARM');
  const line = new Promise<string>((r) => { syslogWaiter = (l) => { if (l.includes('audit-sink-failing')) r(l); }; });
  const changed = await evaluated(f);
  assert.deepEqual(changed, [{ name: 'audit-sink-failing', to: 'ALARM' }]);
  const d = await got;
  verify(d, secretF, Date.now());
  assert.match(d.n.NewStateReason, /rekey_audit_sink_failures_total increase over 300 s = [1-9]\d* \(GreaterThanThreshold 0\)/);
  const l = await line;
  assert.match(l, /^<108>1 \S+ \S+ rekey \d+ alarm - \{/); // facility 13 (log audit), severity 4 (warning)
  assert.equal(JSON.parse(l.slice(l.indexOf('{'))).NewStateValue, 'ALARM');
  assert.equal((await admin(s, 'GET', '/v1/alarms/audit-sink-failing')).json.state.state, 'OK');
});

test('alarms: an instance with status inaccessible-encryption-credentials fires db-inaccessible-encryption-credentials, and back to OK', async () => {
  inaccessible = [{ id: 'orders', status: 'inaccessible-encryption-credentials' } as DbInstance, { id: 'billing', status: 'inaccessible-encryption-credentials-recoverable' } as DbInstance];
  const got = hook.next('db-inaccessible-encryption-credentials', 'ALARM');
  assert.deepEqual(await evaluated(s), [{ name: 'db-inaccessible-encryption-credentials', to: 'ALARM' }]);
  const d = await got;
  verify(d, secretA, clock().getTime());
  assert.match(d.n.NewStateReason, /^rekey_db_instances = 2 \(GreaterThanThreshold 0\)$/);
  inaccessible = [];
  const ok = hook.next('db-inaccessible-encryption-credentials', 'OK');
  assert.deepEqual(await evaluated(s), [{ name: 'db-inaccessible-encryption-credentials', to: 'OK' }]);
  assert.equal((await ok).n.OldStateValue, 'ALARM');
  const g = await admin(s, 'GET', '/v1/alarms/db-inaccessible-encryption-credentials');
  assert.deepEqual(g.json.history.map((h: { from: string; to: string }) => `${h.from}->${h.to}`), ['ALARM->OK', 'OK->ALARM']);
});

test('alarms: a user event rule put through the API fires on its event and returns to OK after its quiet period; a built-in is turned off and restored', async () => {
  const put = await admin(s, 'PUT', '/v1/alarms/key-created', { kind: 'event', description: 'a key was created', pattern: { eventSource: ['kms.amazonaws.com'], eventName: ['CreateKey'], errorCode: { exists: false } }, periodSeconds: 60 });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.equal(put.json.alarm.builtIn, false);
  const got = hook.next('key-created', 'ALARM');
  await s.kmsClient().send(new CreateKeyCommand({}));
  const d = await got;
  verify(d, secretA, clock().getTime());
  assert.deepEqual(d.n.Trigger, { kind: 'event', pattern: { eventSource: ['kms.amazonaws.com'], eventName: ['CreateKey'], errorCode: { exists: false } }, periodSeconds: 60 });
  // 60 s without a CreateKey (on the server's clock): OK again at the next evaluation
  assert.ok(!(await evaluated(s)).some((c) => c.name === 'key-created'), 'still within its period');
  offset += 61_000;
  const ok = hook.next('key-created', 'OK');
  assert.ok((await evaluated(s)).some((c) => c.name === 'key-created' && c.to === 'OK'));
  assert.match((await ok).n.NewStateReason, /no matching event for 60 s/);
  // a built-in replaced with enabled: false is listed as off and no longer evaluated
  assert.equal((await admin(s, 'PUT', '/v1/alarms/audit-sink-failing', { kind: 'metric', metric: 'rekey_audit_sink_failures_total', statistic: 'increase', comparison: 'GreaterThanThreshold', threshold: 0, enabled: false })).status, 200);
  const listed = (await admin(s, 'GET', '/v1/alarms')).json.alarms.find((a: { name: string }) => a.name === 'audit-sink-failing');
  assert.deepEqual([listed.builtIn, listed.enabled], [true, false]);
  assert.deepEqual((await admin(s, 'DELETE', '/v1/alarms/audit-sink-failing')).json, { builtIn: true });
  assert.equal((await admin(s, 'GET', '/v1/alarms/audit-sink-failing')).json.alarm.enabled, true);
  assert.deepEqual((await admin(s, 'DELETE', '/v1/alarms/key-created')).json, { builtIn: false });
  // the signing secret is in no audit event
  await s.audit.settled();
  assert.ok(!JSON.stringify((await s.audit.lookup({ maxResults: 1000 })).events).includes(secretA), 'the signing secret reached the audit trail');
});

test('alarms: bad input gets typed errors', async () => {
  const cases: [string, string, unknown, string, RegExp?][] = [
    ['PUT', '/v1/alarms/x', { kind: 'nope' }, 'ValidationException'],
    ['PUT', '/v1/alarms/x', { kind: 'event' }, 'ValidationException', /needs a pattern/],
    ['PUT', '/v1/alarms/x', { kind: 'event', pattern: {} }, 'ValidationException', /at least one/],
    ['PUT', '/v1/alarms/x', { kind: 'metric', metric: 'up', comparison: 'Bigger', threshold: 1 }, 'ValidationException'],
    ['PUT', '/v1/alarms/x', { kind: 'metric', metric: 'not a name', comparison: 'GreaterThanThreshold', threshold: 1 }, 'ValidationException', /not a Prometheus metric name/],
    ['PUT', '/v1/alarms/x', { kind: 'metric', metric: 'up', comparison: 'GreaterThanThreshold', threshold: 1, pattern: { eventName: ['A'] } }, 'ValidationException'],
    ['PUT', '/v1/alarms/-bad', { kind: 'event', pattern: { eventName: ['A'] } }, 'ValidationException'],
    ['GET', '/v1/alarms/no-such-alarm', undefined, 'ResourceNotFoundException'],
    ['DELETE', '/v1/alarms/no-such-alarm', undefined, 'ResourceNotFoundException'],
    ['DELETE', '/v1/alarms/kms-access-denied', undefined, 'ValidationException', /built-in/],
    ['PUT', '/v1/alarms/targets/t', { type: 'webhook', url: 'http://example.com/hook' }, 'ValidationException', /https/],
    ['PUT', '/v1/alarms/targets/t', { type: 'webhook', url: 'not a url' }, 'ValidationException'],
    ['PUT', '/v1/alarms/targets/t', { type: 'syslog', host: '127.0.0.1' }, 'ValidationException'],
    ['DELETE', '/v1/alarms/targets/none', undefined, 'ResourceNotFoundException'],
  ];
  for (const [method, path, body, code, message] of cases) {
    const r = await admin(s, method, path, body);
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${r.status}`);
    assert.equal(r.json.error, code, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
    if (message) assert.match(r.json.message, message);
  }
});

test('alarms: the CLI puts, shows, lists and removes a user alarm (table and JSON)', async () => {
  let out = '';
  const run = async (...args: string[]) => {
    out = '';
    const program = new Command().exitOverride();
    registerAlarmsCommands(program, { out: (t) => { out += t; }, env: { AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey } });
    await program.parseAsync(['node', 'rekey', 'alarms', ...args, '--endpoint', s.url, '--ca-bundle', s.caBundlePath!]);
    return out;
  };
  await run('put', 'many-requests', '--metric', 'rekey_requests_total', '--label', 'api=kms', '--statistic', 'increase', '--comparison', 'GreaterThanThreshold', '--threshold', '1000000', '--period', '60');
  assert.match(out, /alarm many-requests \(metric\) stored/);
  const shown = JSON.parse(await run('show', 'many-requests', '--output', 'json'));
  assert.deepEqual(shown.alarm, { name: 'many-requests', kind: 'metric', description: '', enabled: true, periodSeconds: 60, metric: 'rekey_requests_total', labels: { api: 'kms' }, statistic: 'increase', comparison: 'GreaterThanThreshold', threshold: 1000000, builtIn: false });
  assert.match(await run('ls'), /^NAME +KIND +STATE[\s\S]*kms-access-denied\* +event +ALARM[\s\S]*many-requests +metric +OK/m);
  const listed = JSON.parse(await run('ls', '--output', 'json'));
  assert.equal(listed.alarms.length, 10); // 9 built-ins and many-requests
  assert.match(await run('show', 'kms-access-denied'), /history \(newest first\):\n {2}\S+ {2}OK -> ALARM {2}kms\.amazonaws\.com Encrypt AccessDeniedException/);
  assert.match(await run('target', 'ls'), /hook +webhook +http:\/\/127\.0\.0\.1/);
  assert.match(await run('rm', 'many-requests'), /alarm many-requests deleted/);
  await assert.rejects(run('show', 'many-requests'), (e: Error & { code?: string }) => e.code === 'ResourceNotFoundException');
});

test('alarms: a server certificate near expiry (the clock moved 80 of its 90 days) fires certificate-expiring', async () => {
  const got = hook.next('certificate-expiring', 'ALARM');
  offset += 80 * 86_400_000;
  const changed = await evaluated(s);
  assert.ok(changed.some((c) => c.name === 'certificate-expiring' && c.to === 'ALARM'), JSON.stringify(changed));
  const d = await got;
  verify(d, secretA, clock().getTime());
  assert.match(d.n.NewStateReason, /rekey_certificate_expiry_seconds = \d+(\.\d+)? \(LessThanThreshold 1209600\)/);
});
