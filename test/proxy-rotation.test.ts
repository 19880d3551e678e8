// Credential rotation under `pgbench -C` through the proxy: the database password changes every
// second (ALTER ROLE with a SCRAM verifier inside a switching window, as single-user rotation does),
// the secret source moves AWSCURRENT and tells the proxy, and pgbench reads the new password from
// its passfile on every connection. Expected: 0 failed transactions, new server logins use the new
// password, and a login with the old password is retried once after re-reading the secret.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../src/crypto/index.ts';
import { validateTargets } from '../src/proxy/config.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, parsePgbench, run, setRolePassword, TestSecretSource } from './helpers/proxy.ts';

let server: StartedPostgres;
let proxy: ProxyService;
let dir: string;
const secrets = new TestSecretSource();

before(async () => {
  server = await startPostgres();
  const password = await createRole(server, 'app');
  secrets.set('app', 'app', password);
  dir = mkdtempSync(join(tmpdir(), 'rekey-rot-'));
  writePassfile(password);
  const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: server.database, PGSSLMODE: 'disable' };
  const init = await run('pgbench', ['-i', '-q', '-s', '1', '-p', String(server.port)], env);
  assert.equal(init.code, 0, init.stderr);
  const common = { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: server.port }, secretIds: ['app'], poolSize: 6, serverLifetimeMs: 300 };
  proxy = new ProxyService({ secrets, log: (e) => console.error('proxy error:', e), targets: validateTargets([{ name: 'session', mode: 'session', ...common }, { name: 'tx', mode: 'transaction', ...common }]) });
  await proxy.start();
});

after(async () => {
  await proxy?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writePassfile(password: string): void {
  // libpq reads the passfile on every connection attempt; written atomically
  writeFileSync(join(dir, 'pgpass.tmp'), `*:*:*:app:${password}\n`, { mode: 0o600 });
  renameSync(join(dir, 'pgpass.tmp'), join(dir, 'pgpass'));
}

test('rotation every 5 client logins per target under pgbench -C (session and transaction mode): 0 failed transactions', async () => {
  const seconds = Number(process.env.REKEY_ROTATION_SECONDS ?? 8);
  const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSFILE: join(dir, 'pgpass'), PGDATABASE: server.database, PGSSLMODE: 'disable' };
  const bench = (name: string) => run('pgbench', ['-n', '-C', '-c', '4', '-j', '2', '-T', String(seconds), '-p', String(proxy.address(name).port)], env).then(parsePgbench);
  const runs = Promise.all([bench('session'), bench('tx')]);
  let rotations = 0;
  const deadline = Date.now() + seconds * 1000 - 500;
  const authed = () => proxy.counters().map((c) => c.clientAuthSucceeded);
  while (Date.now() < deadline) {
    // the next rotation once each target has logged in 5 more clients (pgbench -C: one per
    // transaction): paced by the load, not by the clock; at most one every 400 ms on a fast machine
    const base = authed();
    const floor = new Promise((r) => setTimeout(r, 400));
    while (Date.now() < deadline && authed().some((n, i) => n < base[i]! + 5)) await new Promise((r) => setTimeout(r, 20));
    await floor;
    if (Date.now() >= deadline) break;
    const next = randomBytes(18).toString('base64url');
    secrets.beginSwitch(); // AWSCURRENT reads wait from here ...
    await setRolePassword(server, 'app', next); // ... the old password stops working ...
    secrets.rotate('app', next); // ... until AWSCURRENT moves
    writePassfile(next);
    rotations++;
  }
  const [session, tx] = await runs;
  const logins = proxy.status().flatMap((t) => t.pools).reduce((a, p) => a + p.serverLogins, 0);
  const retries = proxy.status().flatMap((t) => t.pools).reduce((a, p) => a + p.loginRetries, 0);
  console.log(`rotation: ${rotations} rotations in ${seconds}s; session ${session.processed} tx / ${session.failed} failed; transaction ${tx.processed} tx / ${tx.failed} failed; ${logins} server logins, ${retries} retried after re-reading the secret`);
  for (const r of [session, tx]) {
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.failed, 0);
    assert.ok(r.processed > 0);
  }
  assert.ok(rotations >= Math.floor(seconds / 2));
  assert.ok(logins > rotations, 'server connections were re-established across rotations');
});
