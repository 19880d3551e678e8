// The rotation strategies connect over TLS as the secret's `ssl` key says, read as AWS's rotation
// functions read it (aws-samples/aws-secrets-manager-rotation-lambdas, get_ssl_config): absent ->
// TLS, falling back to plaintext if TLS fails; true / "true" -> TLS only; false -> plaintext
// (issue 19 item 6). A real PostgreSQL with ssl=on, a certificate from a test CA and a pg_hba that
// admits the rotated role over TLS only (hostssl scram-sha-256, hostnossl reject), so a rotation
// that succeeds went over TLS; a second role is admitted in plaintext only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { postgresScramVerifier } from '../src/crypto/scram.ts';
import { generateCa, issueCertificate } from '../src/crypto/x509.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { setDatabaseTrust, sslChoice } from '../src/secrets/strategies/common.ts';
import { postgresqlSingleUser as single } from '../src/secrets/strategies/postgresql-single-user.ts';
import { enableSsl, startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { TestSecretStore, newPassword, rotate } from './helpers/rotation-store.ts';

let server: StartedPostgres;
let ca: string;

before(async () => {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const authority = await generateCa({ commonName: 'test database CA', notBefore, notAfter });
  const leaf = await issueCertificate({ caCertPem: authority.certPem, caKeyPem: authority.keyPem, commonName: 'db', sans: ['127.0.0.1', 'localhost'], notBefore, notAfter, usage: 'server' });
  ca = authority.certPem;
  server = await startPostgres();
  // plain_only: refused over TLS, admitted in plaintext by the server's usual lines
  const hba = join(server.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `hostssl all plain_only 127.0.0.1/32 reject\n${readFileSync(hba, 'utf8')}`);
  // tls_only, tls_default, tls_strict: admitted over TLS only
  await enableSsl(server, leaf, { tls_only: 'scram-sha-256', tls_default: 'scram-sha-256', tls_strict: 'scram-sha-256' });
});
after(async () => {
  setDatabaseTrust([]);
  await server?.stop();
});

async function login(name: string): Promise<DbSecret> {
  const password = newPassword();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
  } finally {
    await admin.end();
  }
  return { engine: 'postgres', host: '127.0.0.1', port: server.port, username: name, password, dbname: server.database };
}

test("the ssl key as AWS's rotation functions read it", () => {
  const s = (ssl?: unknown) => sslChoice({ engine: 'postgres', host: 'h', username: 'u', password: 'p', ...(ssl === undefined ? {} : { ssl }) });
  assert.deepEqual(s(), { useTls: true, fallBack: true });
  assert.deepEqual(s(true), { useTls: true, fallBack: false });
  assert.deepEqual(s('TRUE'), { useTls: true, fallBack: false });
  assert.deepEqual(s(false), { useTls: false, fallBack: false });
  assert.deepEqual(s('false'), { useTls: false, fallBack: false });
  assert.deepEqual(s('maybe'), { useTls: true, fallBack: true });
  assert.deepEqual(s(1), { useTls: true, fallBack: true });
});

test('ssl true: rotates over TLS with the CA trusted; without it the certificate is refused and nothing changes', async () => {
  const initial = { ...(await login('tls_only')), ssl: true };
  setDatabaseTrust([ca]);
  const store = new TestSecretStore(initial);
  await rotate(store, single);
  const after1 = store.get('AWSCURRENT')!;
  assert.notEqual(after1.password, initial.password, 'rotated');
  // the role is admitted over TLS only: the rotated password works there
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'tls_only', password: after1.password, database: server.database, ssl: { ca } });
  await c.connect();
  assert.equal((await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl, true);
  await c.end();

  setDatabaseTrust([]);
  await assert.rejects(rotate(store, single), (e: Error) => {
    assert.match(e.message, /certificate|self[- ]signed|issuer/i);
    assert.ok(!e.message.includes(after1.password));
    return true;
  });
  assert.equal(store.get('AWSCURRENT')!.password, after1.password, 'AWSCURRENT unchanged');
});

test('no ssl key: TLS first, plaintext when TLS fails; ssl false: plaintext only', async () => {
  setDatabaseTrust([ca]);
  // admitted over TLS only: the default goes over TLS
  const viaTls = new TestSecretStore(await login('tls_default'));
  await rotate(viaTls, single);
  assert.notEqual(viaTls.get('AWSCURRENT')!.password, viaTls.get('AWSPREVIOUS')!.password);
  // refused over TLS: the default falls back to plaintext, as AWS's functions do
  const fallBack = new TestSecretStore(await login('plain_only'));
  await rotate(fallBack, single);
  assert.notEqual(fallBack.get('AWSCURRENT')!.password, fallBack.get('AWSPREVIOUS')!.password);
  // ssl false never tries TLS: a TLS-only role is refused, and nothing changes
  const before = { ...(await login('tls_strict')), ssl: false };
  const plain = new TestSecretStore(before);
  await assert.rejects(rotate(plain, single), (e: Error) => {
    assert.match(e.message, /pg_hba|no encryption|not allowed|rejects/i, e.message);
    return true;
  });
  assert.equal(plain.get('AWSCURRENT')!.password, before.password);
});
