import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import Fastify from 'fastify';
import { stsErrorXml, stsService } from './sts.ts';
import { QueryProtocol } from './query.ts';
import { AwsJsonProtocol } from './aws-json.ts';
import { serveAwsCall, type Protocol } from './pipeline.ts';
import { MemoryAudit } from './testing.ts';
import { signRequest, type SigningCredentials } from '../iam/sigv4-sign.ts';
import { ACCOUNT, REGION, TestClock, testIam } from '../iam/testing.ts';
import { base32Decode, hotp, timeStep } from '../iam/totp.ts';

async function server(clock = new TestClock()) {
  const t = await testIam({ clock });
  const audit = new MemoryAudit();
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // the two protocols of POST / as src/http/app.ts wires them, with a stand-in JSON service
  const query = new QueryProtocol([REGION]);
  query.register(stsService(t.iam));
  const json = new AwsJsonProtocol();
  json.register('Test', { signingName: 'kms', auditName: 'kms', call: async () => ({ json: true }) });
  const protocols: Protocol[] = [query, json];
  const deps = { region: REGION, audit, authenticate: t.iam.authenticate.bind(t.iam) };
  app.post('/', (req, reply) => serveAwsCall(req, reply, protocols.find((p) => p.accepts(req))!, deps));
  await app.listen({ host: '127.0.0.1', port: 0 });
  after(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  async function sts(creds: SigningCredentials, form: Record<string, string>, region = REGION) {
    const body = new URLSearchParams({ Version: '2011-06-15', ...form }).toString();
    const headers = signRequest({ method: 'POST', host: `127.0.0.1:${port}`, path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body }, creds, { region, service: 'sts', now: t.clock.now() });
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers, body });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }
  return { ...t, app, port, sts, events: audit.events };
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

test('GetSessionToken, GetCallerIdentity and AssumeRole answer in AWS Query-protocol XML', async () => {
  const { sts, admin, iam, events } = await server();
  const r = await sts(admin, { Action: 'GetSessionToken', DurationSeconds: '900' });
  assert.equal(r.status, 200);
  assert.equal(r.type, 'text/xml');
  assert.match(r.text, /^<GetSessionTokenResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><GetSessionTokenResult><Credentials><AccessKeyId>ASIA[A-Z2-7]{16}<\/AccessKeyId><SecretAccessKey>[^<]{40}<\/SecretAccessKey><SessionToken>[^<]+<\/SessionToken><Expiration>2024-05-01T10:15:00Z<\/Expiration><\/Credentials><\/GetSessionTokenResult><ResponseMetadata><RequestId>[^<]+<\/RequestId><\/ResponseMetadata><\/GetSessionTokenResponse>$/);
  const session = { accessKeyId: tag(r.text, 'AccessKeyId')!, secretAccessKey: tag(r.text, 'SecretAccessKey')!, sessionToken: tag(r.text, 'SessionToken')! };

  const who = await sts(session, { Action: 'GetCallerIdentity' });
  assert.equal(tag(who.text, 'Arn'), `arn:aws:iam::${ACCOUNT}:user/rekey-admin`);
  assert.equal(tag(who.text, 'Account'), ACCOUNT);

  await iam.principals.createRole('app', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' }] }));
  const ar = await sts(admin, { Action: 'AssumeRole', RoleArn: `arn:aws:iam::${ACCOUNT}:role/app`, RoleSessionName: 'deploy' }, 'us-east-1');
  assert.equal(ar.status, 200, ar.text);
  assert.equal(tag(ar.text, 'Arn'), `arn:aws:sts::${ACCOUNT}:assumed-role/app/deploy`);
  assert.match(tag(ar.text, 'AssumedRoleId')!, /^AROA[A-Z2-7]{17}:deploy$/);
  assert.ok(events.some((e) => e.eventName === 'AssumeRole' && e.eventSource === 'sts.amazonaws.com' && e.userIdentity.arn === `arn:aws:iam::${ACCOUNT}:user/rekey-admin` && e.errorCode === undefined));
});

test('errors use STS codes, statuses and the ErrorResponse envelope', async () => {
  const { sts, admin, clock } = await server();
  const bad = await sts({ ...admin, secretAccessKey: 'x'.repeat(40) }, { Action: 'GetCallerIdentity' });
  assert.equal(bad.status, 403);
  assert.equal(tag(bad.text, 'Code'), 'SignatureDoesNotMatch');
  assert.match(bad.text, /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>SignatureDoesNotMatch<\/Code><Message>The request signature we calculated/);
  const unknown = await sts({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' }, { Action: 'GetCallerIdentity' });
  assert.deepEqual([unknown.status, tag(unknown.text, 'Code'), tag(unknown.text, 'Message')], [403, 'InvalidClientTokenId', 'The security token included in the request is invalid.']);
  const action = await sts(admin, { Action: 'GetFederationToken' });
  assert.deepEqual([action.status, tag(action.text, 'Code'), tag(action.text, 'Message')], [400, 'InvalidAction', 'Could not find operation GetFederationToken for version 2011-06-15']);
  const short = await sts(admin, { Action: 'GetSessionToken', DurationSeconds: '60' });
  assert.deepEqual([short.status, tag(short.text, 'Code')], [400, 'ValidationError']);
  const mfa = await sts(admin, { Action: 'GetSessionToken', SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/none`, TokenCode: '123456' });
  assert.deepEqual([mfa.status, tag(mfa.text, 'Code'), tag(mfa.text, 'Message')], [403, 'AccessDenied', 'MultiFactorAuthentication failed with invalid MFA one time pass code. ']);
  // expired session
  const s = await sts(admin, { Action: 'GetSessionToken', DurationSeconds: '900' });
  const session = { accessKeyId: tag(s.text, 'AccessKeyId')!, secretAccessKey: tag(s.text, 'SecretAccessKey')!, sessionToken: tag(s.text, 'SessionToken')! };
  clock.advance(901_000);
  const expired = await sts(session, { Action: 'GetCallerIdentity' });
  assert.deepEqual([expired.status, tag(expired.text, 'Code'), tag(expired.text, 'Message')], [403, 'ExpiredToken', 'The security token included in the request is expired']);
  assert.equal(stsErrorXml('A&B', '<x>', 'r'), '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>A&amp;B</Code><Message>&lt;x&gt;</Message></Error><RequestId>r</RequestId></ErrorResponse>');
});

test('JSON requests on POST / still reach the AWS JSON route', async () => {
  const { port } = await server();
  const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Test.Op' }, body: '{}' });
  // the JSON protocol answered (unsigned: its error shape), not the Query one
  assert.match(res.headers.get('content-type') ?? '', /^application\/x-amz-json-1.1/);
  assert.equal(((await res.json()) as { __type: string }).__type, 'MissingAuthenticationTokenException');
});

test('STS audit events carry the STS error code the client saw', async () => {
  const { sts, admin, events } = await server();
  await sts(admin, { Action: 'GetSessionToken', SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/none`, TokenCode: '123456' });
  const e = events.at(-1)!;
  assert.deepEqual([e.eventName, e.errorCode], ['GetSessionToken', 'AccessDenied']);
  assert.equal(JSON.stringify(e).includes('123456'), false, 'the MFA code is not recorded');
});

// The real AWS CLI, when installed: `aws sts get-session-token --endpoint-url ...` with an MFA code.
// With CI=true it never skips (as the MySQL tests): a missing CLI fails it (.ci/run installs awscli).
const awsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' });
const skip = awsCli.status === 0 || process.env.CI === 'true' ? false : 'aws CLI not installed';
test('the AWS CLI gets an MFA session token and the caller identity', { skip }, async () => {
  assert.equal(awsCli.status, 0, 'the AWS CLI is not installed: CI=true does not skip it (.ci/run installs the Debian package awscli)');
  const clock = new TestClock(Date.now()); // the CLI signs with the real time
  const { iam, port, admin } = await server(clock);
  const dev = await iam.mfa.createVirtualDevice('admin-phone');
  const seed = base32Decode(dev.base32StringSeed);
  const step = timeStep(Date.now() / 1000);
  await iam.mfa.enable('rekey-admin', dev.serialNumber, hotp(seed, step - 2), hotp(seed, step - 1));
  const env = { ...process.env, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey, AWS_DEFAULT_REGION: REGION, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_SESSION_TOKEN: '' };
  delete (env as Record<string, string | undefined>)['AWS_SESSION_TOKEN'];
  delete (env as Record<string, string | undefined>)['AWS_PROFILE'];
  const run = (args: string[], extra: Record<string, string> = {}) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    import('node:child_process').then(({ execFile }) => execFile('aws', [...args, '--endpoint-url', `http://127.0.0.1:${port}`, '--output', 'json'], { env: { ...env, ...extra } }, (err, stdout, stderr) => resolve({ status: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr })));
  });
  clock.ms = Date.now();
  const r = await run(['sts', 'get-session-token', '--serial-number', dev.serialNumber, '--token-code', hotp(seed, timeStep(Date.now() / 1000)), '--duration-seconds', '900']);
  assert.equal(r.status, 0, r.stderr);
  const creds = (JSON.parse(r.stdout) as { Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string } }).Credentials;
  assert.match(creds.AccessKeyId, /^ASIA/);
  const session = await iam.sessions.get(creds.AccessKeyId);
  assert.equal(session?.mfaAuthenticated, true);
  clock.ms = Date.now();
  const who = await run(['sts', 'get-caller-identity'], { AWS_ACCESS_KEY_ID: creds.AccessKeyId, AWS_SECRET_ACCESS_KEY: creds.SecretAccessKey, AWS_SESSION_TOKEN: creds.SessionToken });
  assert.equal(who.status, 0, who.stderr);
  assert.equal((JSON.parse(who.stdout) as { Arn: string }).Arn, `arn:aws:iam::${ACCOUNT}:user/rekey-admin`);
  clock.ms = Date.now();
  const denied = await run(['sts', 'get-session-token', '--serial-number', dev.serialNumber, '--token-code', '000000']);
  assert.notEqual(denied.status, 0);
  assert.match(denied.stderr, /\(AccessDenied\) when calling the GetSessionToken operation: MultiFactorAuthentication failed with invalid MFA one time pass code/);
});
