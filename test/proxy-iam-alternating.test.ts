// IAM logins through the proxy with alternating-users rotation (issue 19 item 2): an IAM client
// presents a token, not a password, so both users of an alternating pair stay valid login names
// whatever the AWSPREVIOUS grace; the proxy logs in upstream with AWSCURRENT. Real rekey server
// (TLS from its CA, IAM tokens from @aws-sdk/rds-signer), real PostgreSQL (scram-sha-256), the
// real postgresql-alternating-users strategy through RotateSecret; the grace is 0 so a login name
// that is only AWSPREVIOUS would be refused without the fix. A second target is decoupled (issue 19
// item 3): its IAM clients log in as one application name whatever user the secret names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Signer } from '@aws-sdk/rds-signer';
import { randomBytes } from '../src/crypto/index.ts';
import { postgresScramVerifier } from '../src/crypto/scram.ts';
import { createDbSecret, readSecret, rotateViaApi } from './helpers/db-rotation-api.ts';
import { sessionUserOrRefusal, startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const RESOURCE_ID = 'db-IAMALTERNATING';
const SECRET = `iam-alt/app-${Date.now()}`;
const ROTATIONS = 10;

let db: StartedPostgres;
let s: TestServer;
let dir: string;

before(async () => {
  db = await startPostgres();
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const password = randomBytes(24).toString('base64url');
  await admin.query(`CREATE ROLE iam_alt LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
  await admin.end();
  dir = mkdtempSync(join(tmpdir(), 'rekey-iam-alt-'));
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'iam', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: [SECRET], auth: 'iam', iamHosts: ['localhost'], resourceId: RESOURCE_ID, previousPasswordGraceMs: 0 },
      // decoupled (docs/PROXY.md, "Decoupled application credentials"): one fixed IAM login name whatever the secret names
      { name: 'iamapp', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: [SECRET], auth: 'iam', iamHosts: ['localhost'], resourceId: RESOURCE_ID, applications: [{ user: 'reporting' }] }] },
  }));
  s = await startTestServer({ env: { REKEY_CONFIG: join(dir, 'rekey.json'), REKEY_TLS: 'generated', REKEY_AUDIT_STDOUT: 'false' } });
  const sm = s.secretsClient();
  const master = await createDbSecret(sm, `${SECRET}-master`, { engine: 'postgres', host: '127.0.0.1', port: db.port, username: db.user, password: db.password, dbname: db.database });
  await createDbSecret(sm, SECRET, { engine: 'postgres', host: '127.0.0.1', port: db.port, username: 'iam_alt', password, dbname: db.database, masterarn: master });
});

after(async () => {
  await s?.cleanup();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`an IAM client across ${ROTATIONS} alternating-users rotations: both login names work after every one, 0 refusals`, async () => {
  const alice = await s.iam.principals.createUser(`alice-${Date.now()}`);
  await s.iam.principals.putPolicy('user', alice.name, 'db-connect', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'rds-db:connect', Resource: `arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:${RESOURCE_ID}/*` }] }));
  const key = await s.iam.accessKeys.create(alice);
  /** Logs in as `user` with a fresh token; the server session's user (AWSCURRENT's), or the refusal. */
  const iamLogin = async (user: string, target = 'iam'): Promise<string> => {
    const port = s.proxy!.address(target).port;
    const token = await new Signer({ hostname: 'localhost', port, username: user, region: REGION, credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } }).getAuthToken();
    return sessionUserOrRefusal({ host: 'localhost', port, user, password: token, database: db.database, ssl: { ca: s.ca! } });
  };
  const sm = s.secretsClient();
  const refusals: string[] = [];
  for (let i = 1; i <= ROTATIONS; i++) {
    await rotateViaApi(sm, s.jobs, SECRET, 'postgresql-alternating-users');
    const current = (await readSecret(sm, SECRET)).username;
    for (const user of ['iam_alt', 'iam_alt_clone']) {
      // the session is the pool's: a server logged in with AWSCURRENT, or with AWSPREVIOUS while its
      // password still works (alternating users change it only at the next rotation)
      const got = await iamLogin(user);
      if (got !== 'iam_alt' && got !== 'iam_alt_clone') refusals.push(`rotation ${i}, login as ${user}: ${got} (AWSCURRENT is ${current})`);
    }
    // decoupled: the application's one login name, upstream as whichever user AWSCURRENT names
    const got = await iamLogin('reporting', 'iamapp');
    if (got !== 'iam_alt' && got !== 'iam_alt_clone') refusals.push(`rotation ${i}, decoupled login as reporting: ${got} (AWSCURRENT is ${current})`);
  }
  assert.deepEqual(refusals, []);
  // a name no secret holds is still refused, with the proxy's message
  assert.match(await iamLogin('someone_else'), /no secret of this proxy target holds the database user "someone_else"/);
  // decoupled: the database users are not login names there
  assert.match(await iamLogin('iam_alt', 'iamapp'), /no application of this proxy target logs in as "iam_alt"/);
});
