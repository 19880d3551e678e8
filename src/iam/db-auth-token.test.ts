// RDS IAM database authentication tokens made by the real `@aws-sdk/rds-signer`, verified by
// IamService.authenticateDbToken() as the PostgreSQL proxy calls it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Signer } from '@aws-sdk/rds-signer';
import { ACCOUNT, REGION, TestClock, signed, testIam } from './testing.ts';
import { amzDateToMs } from './sigv4-canonical.ts';
import { isDbAuthToken } from './db-auth-token.ts';
import type { IamService } from './service.ts';

const HOST = 'proxy.rekey.test';
const PORT = 5432;
const EXPECTED = [`${HOST}:${PORT}`, `127.0.0.1:${PORT}`];
const RESOURCE_ID = 'db-REKEYPROXY1';
const arnFor = (dbUser: string) => `arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:${RESOURCE_ID}/${dbUser}`;
const SIG_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';

interface Creds { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

function token(creds: Creds, o: { username?: string; hostname?: string; port?: number; region?: string; service?: string } = {}): Promise<string> {
  const signer = new Signer({ hostname: o.hostname ?? HOST, port: o.port ?? PORT, username: o.username ?? 'app_user', region: o.region ?? REGION, credentials: creds });
  // The signer's service name is a plain field; only the wrong-service case changes it.
  if (o.service) (signer as unknown as { service: string }).service = o.service;
  return signer.getAuthToken();
}

const signedAt = (t: string) => amzDateToMs(/X-Amz-Date=(\d{8}T\d{6}Z)/.exec(t)![1]!);
const allow = (resource: string | string[], extra: object[] = []) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'rds-db:connect', Resource: resource }, ...extra] });

async function setup() {
  const clock = new TestClock(Date.now());
  const t = await testIam({ clock });
  const alice = await t.iam.principals.createUser('alice');
  await t.iam.principals.putPolicy('user', 'alice', 'db-connect', allow(arnFor('app_user')));
  const bob = await t.iam.principals.createUser('bob');
  const aliceKey = await t.iam.accessKeys.create(alice);
  const bobKey = await t.iam.accessKeys.create(bob);
  return { ...t, alice, bob, aliceKey, bobKey };
}

/** Runs the call, as the proxy would, at one second after the token was signed (or `at`). */
function login(iam: IamService, clock: TestClock, tok: string, o: { dbUser?: string; at?: number; hosts?: string[]; secureTransport?: boolean } = {}) {
  clock.ms = o.at ?? signedAt(tok) + 1000;
  return iam.authenticateDbToken({
    token: tok, dbUser: o.dbUser ?? 'app_user', expectedHosts: o.hosts ?? EXPECTED, resourceId: RESOURCE_ID,
    ...(o.secureTransport !== undefined ? { secureTransport: o.secureTransport } : {}),
  });
}

/** Asserts the error, and that its message carries no part of the token's secrets. */
async function refused(p: Promise<unknown>, tok: string, expected: { name: string; message: string | RegExp }, secrets: string[] = []) {
  const err = await p.then(() => assert.fail('expected a refusal'), (e: unknown) => e as Error);
  assert.equal(err.name, expected.name, err.message);
  if (typeof expected.message === 'string') assert.equal(err.message, expected.message);
  else assert.match(err.message, expected.message);
  const signature = /X-Amz-Signature=([0-9a-f]+)/.exec(tok)?.[1];
  for (const s of [tok, signature, ...secrets]) if (s) assert.ok(!err.message.includes(s), `message leaks a secret: ${err.message}`);
  assert.ok(!/X-Amz-(Signature|Credential|Security-Token)=/.test(err.message), err.message);
}

test('a token from @aws-sdk/rds-signer logs in a principal whose policy allows rds-db:connect; one without it is refused', async () => {
  const { iam, clock, alice, bob, aliceKey, bobKey, admin } = await setup();
  const tok = await token(aliceKey);
  assert.match(tok, /^proxy\.rekey\.test:5432\/\?Action=connect&DBUser=app_user&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA[A-Z2-7]{16}%2F\d{8}%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=900&X-Amz-Signature=[0-9a-f]{64}&X-Amz-SignedHeaders=host$/);
  assert.equal(isDbAuthToken(tok), true);
  assert.equal(isDbAuthToken('hunter2'), false);

  const id = await login(iam, clock, tok);
  assert.deepEqual([id.type, id.arn, id.accessKeyId], ['IAMUser', alice.arn, aliceKey.accessKeyId]);
  // hostnames compare without regard to case; a token is valid for its whole lifetime
  assert.equal((await login(iam, clock, await token(aliceKey, { hostname: 'PROXY.Rekey.TEST' }))).arn, alice.arn);
  assert.equal((await login(iam, clock, tok, { at: signedAt(tok) + 899_000 })).arn, alice.arn);

  await refused(login(iam, clock, await token(bobKey)), tok, {
    name: 'AccessDeniedException',
    message: `User: ${bob.arn} is not authorized to perform: rds-db:connect on resource: ${arnFor('app_user')} because no identity-based policy allows the rds-db:connect action`,
  }, [bobKey.secretAccessKey]);
  // alice's policy names one database user: another user of the same database is refused
  await refused(login(iam, clock, await token(aliceKey, { username: 'reporting' }), { dbUser: 'reporting' }), tok, {
    name: 'AccessDeniedException',
    message: `User: ${alice.arn} is not authorized to perform: rds-db:connect on resource: ${arnFor('reporting')} because no identity-based policy allows the rds-db:connect action`,
  });
  // a wildcard over the resource id's users allows it
  await iam.principals.putPolicy('user', 'bob', 'any-user', allow(`arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:${RESOURCE_ID}/*`));
  assert.equal((await login(iam, clock, await token(bobKey, { username: 'reporting' }), { dbUser: 'reporting' })).arn, bob.arn);
  // and the bootstrap administrator (AdministratorAccess: "*" on "*") may connect too, as in IAM
  assert.equal((await login(iam, clock, await token(admin))).arn, admin.principalArn);
});

test('a token made for another DBUser or endpoint is refused before its signature is checked', async () => {
  const { iam, clock, aliceKey } = await setup();
  const tok = await token(aliceKey);
  await refused(login(iam, clock, tok, { dbUser: 'postgres' }), tok, { name: 'AccessDeniedException', message: "The IAM authentication token was made for DBUser 'app_user', not for 'postgres'." });
  const otherPort = await token(aliceKey, { port: 5433 });
  await refused(login(iam, clock, otherPort), otherPort, { name: 'AccessDeniedException', message: "The IAM authentication token was made for host 'proxy.rekey.test:5433', which is not an endpoint of this proxy." });
  const otherHost = await token(aliceKey, { hostname: 'mydb.cluster-abc.us-east-1.rds.amazonaws.com' });
  await refused(login(iam, clock, otherHost), otherHost, { name: 'AccessDeniedException', message: "The IAM authentication token was made for host 'mydb.cluster-abc.us-east-1.rds.amazonaws.com:5432', which is not an endpoint of this proxy." });
  // the same token is fine where the proxy does answer to that name
  assert.ok(await login(iam, clock, otherPort, { hosts: ['proxy.rekey.test:5433'] }));
});

test('expired, not yet valid, tampered, wrong scope, unknown or inactive key: refused with the exact error', async () => {
  const { iam, clock, aliceKey } = await setup();
  const tok = await token(aliceKey);
  const t = signedAt(tok);
  const fmt = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  // RDS: a token lives 15 minutes (X-Amz-Expires=900); the clock skew does not extend it
  await refused(login(iam, clock, tok, { at: t + 901_000 }), tok, { name: 'InvalidSignatureException', message: `Signature expired: ${fmt(t)} is now earlier than ${fmt(t + 1000)} (${fmt(t + 901_000)} - 15 min.)` });
  await refused(login(iam, clock, tok, { at: t + 900_000 }), tok, { name: 'InvalidSignatureException', message: /^Signature expired: / });
  // a token dated more than the skew (5 minutes) ahead of the server's clock
  await refused(login(iam, clock, tok, { at: t - 301_000 }), tok, { name: 'InvalidSignatureException', message: `Signature not yet current: ${fmt(t)} is still later than ${fmt(t - 1000)} (${fmt(t - 301_000)} + 5 min.)` });
  assert.ok(await login(iam, clock, tok, { at: t - 299_000 }));

  const sig = /X-Amz-Signature=([0-9a-f]{64})/.exec(tok)![1]!;
  const flipped = tok.replace(sig, sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0'));
  await refused(login(iam, clock, flipped), tok, { name: 'InvalidSignatureException', message: SIG_MISMATCH });
  await refused(login(iam, clock, tok.replace(sig, 'zz')), tok, { name: 'InvalidSignatureException', message: SIG_MISMATCH });
  // DBUser is signed: rewriting it (and connecting as the new user, whom alice may use) fails the signature
  await iam.principals.putPolicy('user', 'alice', 'admin-too', allow(arnFor('admin')));
  const asAdmin = tok.replace('DBUser=app_user', 'DBUser=admin');
  await refused(login(iam, clock, asAdmin, { dbUser: 'admin' }), tok, { name: 'InvalidSignatureException', message: SIG_MISMATCH });
  // the host is signed too: a token moved to another endpoint fails the signature
  const moved = tok.replace(`${HOST}:${PORT}`, `127.0.0.1:${PORT}`);
  await refused(login(iam, clock, moved), tok, { name: 'InvalidSignatureException', message: SIG_MISMATCH });
  // a lifetime longer than RDS allows is refused even before the signature
  await refused(login(iam, clock, tok.replace('X-Amz-Expires=900', 'X-Amz-Expires=3600')), tok, { name: 'InvalidSignatureException', message: 'X-Amz-Expires must be between 1 and 900 seconds.' });

  const kms = await token(aliceKey, { service: 'kms' });
  await refused(login(iam, clock, kms), kms, { name: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'rds-db'." });
  const eu = await token(aliceKey, { region: 'eu-west-1' });
  await refused(login(iam, clock, eu), eu, { name: 'InvalidSignatureException', message: "Credential should be scoped to a valid region. 'eu-west-1' is not 'us-east-1'." });

  const unknown = await token({ accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: aliceKey.secretAccessKey });
  await refused(login(iam, clock, unknown), unknown, { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
  const wrongSecret = await token({ ...aliceKey, secretAccessKey: 'x'.repeat(40) });
  await refused(login(iam, clock, wrongSecret), wrongSecret, { name: 'InvalidSignatureException', message: SIG_MISMATCH }, [aliceKey.secretAccessKey]);
  await iam.accessKeys.setStatus(aliceKey.accessKeyId, 'Inactive', 'alice');
  await refused(login(iam, clock, tok), tok, { name: 'UnrecognizedClientException', message: INVALID_TOKEN });
});

test('passwords that are not tokens get a clear IncompleteSignatureException', async () => {
  const { iam, clock, aliceKey } = await setup();
  const tok = await token(aliceKey);
  const bad = async (password: string, message: string) => {
    await refused(iam.authenticateDbToken({ token: password, dbUser: 'app_user', expectedHosts: EXPECTED, resourceId: RESOURCE_ID }), tok, { name: 'IncompleteSignatureException', message });
  };
  clock.ms = signedAt(tok);
  await bad('hunter2', "The password is not a valid IAM authentication token: expected '<hostname>:<port>/?Action=connect&DBUser=...'.");
  await bad('x'.repeat(9000), 'The password is not a valid IAM authentication token: longer than 8192 characters.');
  await bad(tok.replace('Action=connect', 'Action=drop'), "The password is not a valid IAM authentication token: Action must be 'connect'.");
  await bad(tok.replace('DBUser=app_user', 'DBUser=app_user&DBUser=app_user'), 'The password is not a valid IAM authentication token: DBUser is missing or repeated.');
  await bad(tok.replace(/&X-Amz-Signature=[0-9a-f]+/, ''), "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters.");
  await bad(tok.replace(/(X-Amz-Signature=[0-9a-f]+)/, '$1&$1'), "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'. Re-examine the query-string parameters.");
  await bad(tok.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256'), 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  await bad(`bad host:5432/${tok.slice(tok.indexOf('/') + 1)}`, 'The password is not a valid IAM authentication token: the host part is malformed.');
});

test('temporary credentials from rekey STS: accepted with their session token, refused without it or once expired', async () => {
  const { iam, clock, alice, aliceKey } = await setup();
  // a session issued 850 s before now lasts 50 s more (DurationSeconds 900)
  clock.ms = Date.now() - 850_000;
  const caller = await iam.authenticate(signed(aliceKey, { now: clock.now(), service: 'sts' }), 'sts');
  const s = await iam.sts.getSessionToken(caller, { durationSeconds: 900 });
  const tok = await token(s);
  assert.match(tok, /&X-Amz-Expires=900&X-Amz-Security-Token=[^&]+&X-Amz-Signature=/);
  const id = await login(iam, clock, tok);
  assert.deepEqual([id.arn, id.accessKeyId, id.mfaAuthenticated], [alice.arn, s.accessKeyId, false]);

  const secrets = [s.secretAccessKey, s.sessionToken, encodeURIComponent(s.sessionToken)];
  const noToken = await token({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey });
  await refused(login(iam, clock, noToken), noToken, { name: 'UnrecognizedClientException', message: INVALID_TOKEN }, secrets);
  const otherToken = await token({ ...s, sessionToken: 'A'.repeat(128) });
  await refused(login(iam, clock, otherToken), otherToken, { name: 'UnrecognizedClientException', message: INVALID_TOKEN }, secrets);
  // long-term keys with a session token attached
  const keyWithToken = await token({ ...aliceKey, sessionToken: s.sessionToken });
  await refused(login(iam, clock, keyWithToken), keyWithToken, { name: 'UnrecognizedClientException', message: INVALID_TOKEN }, secrets);
  // the RDS token is still within its 900 s, but the session has expired
  await refused(login(iam, clock, tok, { at: Date.parse(s.expiration) + 1000 }), tok, { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' }, secrets);
});

test('an assumed-role session is authorized by the role policy; conditions see aws:SecureTransport', async () => {
  const { iam, clock, alice, aliceKey } = await setup();
  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'sts:AssumeRole' }] });
  const role = await iam.principals.createRole('db-app', trust);
  await iam.principals.putPolicy('role', 'db-app', 'connect', allow(arnFor('app_user'), [
    { Effect: 'Deny', Action: 'rds-db:connect', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
  ]));
  const caller = await iam.authenticate(signed(aliceKey, { now: clock.now(), service: 'sts' }), 'sts');
  const { credentials } = await iam.sts.assumeRole(caller, { roleArn: role.arn, roleSessionName: 'proxy-login' });
  const tok = await token(credentials);
  const id = await login(iam, clock, tok, { secureTransport: true });
  assert.deepEqual([id.type, id.arn, id.roleArn], ['AssumedRole', `arn:aws:sts::${ACCOUNT}:assumed-role/db-app/proxy-login`, role.arn]);
  await refused(login(iam, clock, tok, { secureTransport: false }), tok, {
    name: 'AccessDeniedException',
    message: `User: ${id.arn} is not authorized to perform: rds-db:connect on resource: ${arnFor('app_user')} with an explicit deny in an identity-based policy`,
  }, [credentials.sessionToken]);
});
