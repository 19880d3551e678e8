// Proxy failures made visible (issue 18, item 3): a proxy that cannot log in to its database logs
// it (without the password), audits it (UpstreamLoginFailed) and counts it (/metrics); client
// authentications are audited one by one only as REKEY_PROXY_AUDIT_AUTH says (default: failures),
// with a periodic ClientAuthenticationSummary per target. The database is a stand-in that refuses
// every login with 28P01, as PostgreSQL does for a wrong password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import parse from 'parse-prometheus-text-format';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { until } from './helpers/db-node.ts';
import { errorResponse } from '../src/proxy/protocol.ts';
import { LOGIN_FAILURE_REPORT_MS } from '../src/proxy/target.ts';

const SECRET = 'app-db';
const PASSWORD = 'proxy-failures-Password-1-do-not-log';
let s: TestServer;
let upstream: Server;
let upstreamLogins = 0;
let dir: string;
const logged: string[] = [];
const realWrite = process.stderr.write.bind(process.stderr);

before(async () => {
  // the "database": answers every startup message with FATAL 28P01
  upstream = createServer((sock) => {
    sock.once('data', () => {
      upstreamLogins++;
      sock.end(errorResponse('FATAL', '28P01', 'password authentication failed for user "app"'));
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const port = (upstream.address() as { port: number }).port;
  dir = mkdtempSync(join(tmpdir(), 'rekey-proxy-failures-'));
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port }, secretIds: [SECRET], mode: 'session' }] },
  }));
  // the server's own log lines (src/server/start.ts writes "rekey: ..." to stderr)
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logged.push(String(chunk));
    return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  s = await startTestServer({ env: { REKEY_CONFIG: join(dir, 'rekey.json'), REKEY_METRICS_LISTEN: '127.0.0.1:0', REKEY_PROXY_AUDIT_SUMMARY_SECONDS: '1' } });
  await s.secretsClient().send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port, username: 'app', password: PASSWORD, dbname: 'app' }) }));
});

after(async () => {
  process.stderr.write = realWrite;
  await s?.cleanup();
  await new Promise<void>((r) => upstream.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function connect(password: string): Promise<{ code?: string; message: string }> {
  const c = new pg.Client({ host: '127.0.0.1', port: s.proxy!.address('app').port, user: 'app', password, database: 'app', ssl: false });
  try {
    await c.connect();
    await c.end();
    return { message: 'connected' };
  } catch (e) {
    return e as { code?: string; message: string };
  } finally {
    c.end().catch(() => {});
  }
}

function auditEvents(): { eventName: string; additionalEventData?: Record<string, unknown> }[] {
  return readFileSync(join(s.dataDir, 'audit', 'audit.jsonl'), 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l).event).filter((e) => e?.eventSource === 'rekey.proxy');
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(s.metrics!.url)).text();
  const m = parse(text).find((f) => f.name === name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value) : 0;
}

test('proxy: failed upstream logins are logged once per window (no password), audited, and every one is counted', async () => {
  assert.ok(LOGIN_FAILURE_REPORT_MS >= 5000, 'the three attempts below fall in one report window');
  for (let i = 0; i < 3; i++) {
    const r = await connect(PASSWORD);
    assert.equal(r.code, '08006', r.message);
    assert.match(r.message, /cannot log in to the database: password authentication failed/);
  }
  // each client's login was tried twice (the retry with re-read credentials)
  assert.equal(upstreamLogins, 6);
  assert.equal(await metric('rekey_proxy_upstream_login_failures_total', { target: 'app', reason: 'auth' }), 3);
  assert.equal(await metric('rekey_proxy_client_authentications_total', { target: 'app', outcome: 'succeeded' }), 3);

  await s.audit.settled();
  const failed = auditEvents().filter((e) => e.eventName === 'UpstreamLoginFailed');
  assert.equal(failed.length, 1, 'one event per (database, user) and window; the others are counted');
  assert.deepEqual({ ...failed[0]!.additionalEventData }, {
    target: 'app', dbUser: 'app', database: 'app', endpoint: `127.0.0.1:${(upstream.address() as { port: number }).port}`, reason: 'auth',
    message: 'password authentication failed for user "app"', suppressed: 0, sqlstate: '28P01',
  });
  const lines = logged.filter((l) => l.includes('could not log in to the database'));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /target app could not log in to the database at 127\.0\.0\.1:\d+ as "app" \(database "app"\): auth 28P01: password authentication failed/);
  assert.ok(!logged.join('').includes(PASSWORD), 'the password reached the log');
  assert.ok(!readFileSync(join(s.dataDir, 'audit', 'audit.jsonl'), 'utf8').includes(PASSWORD), 'the password reached the audit trail');
});

test('proxy: by default successes are summarized, not recorded one by one; failures are', async () => {
  const wrong = await connect('not-the-password');
  assert.equal(wrong.code, '28P01', wrong.message);
  // the summary of the period (every second here) counts what was not recorded one by one
  let summaries: { additionalEventData?: Record<string, unknown> }[] = [];
  await until('summaries of 3 successes and 1 failure', async () => {
    await s.audit.settled();
    summaries = auditEvents().filter((e) => e.eventName === 'ClientAuthenticationSummary');
    const total = summaries.reduce((n, e) => n + Number(e.additionalEventData?.succeeded ?? 0), 0);
    const failedTotal = summaries.reduce((n, e) => n + Number(e.additionalEventData?.failed ?? 0), 0);
    return total === 3 && failedTotal === 1;
  }, 10_000);
  for (const e of summaries) assert.equal(e.additionalEventData?.mode, 'failures');
  const events = auditEvents();
  assert.equal(events.filter((e) => e.eventName === 'ClientAuthenticationSucceeded').length, 0);
  assert.equal(events.filter((e) => e.eventName === 'ClientAuthenticationFailed').length, 1);
  assert.equal(await metric('rekey_proxy_client_authentications_total', { target: 'app', outcome: 'failed' }), 1);
});
