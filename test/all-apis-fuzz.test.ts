// Issue 17, must-show: a fast-check run across all three API families served by the one pipeline
// (src/http/pipeline.ts): AWS JSON (KMS TrentService.*, Secrets Manager secretsmanager.*), the /v1
// admin API, and the RDS Query API (over src/rds/testing.ts's in-memory DbService). Random
// operations, bodies and credentials (valid, without permissions, unsigned, wrong secret) go to a real
// server, many at a time. Asserted: no response is >= 500; the server answers a health probe
// throughout; every refused request (status >= 400) has an audit event with its request id and an
// errorCode.
//
// The suite runs REKEY_FUZZ_REQUESTS requests (default 1,000, well under a minute on 2 loaded cores);
// `npm run fuzz:all` runs 10,000 (docs/OPERATIONS.md records a full run).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { signRequest, type SigningCredentials } from '../src/iam/sigv4-sign.ts';
import { adminRoutesOf } from '../src/http/app.ts';
import type { AdminRoute } from '../src/http/admin-routes.ts';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';

const TOTAL = Number(process.env['REKEY_FUZZ_REQUESTS'] ?? 1000);
const PARALLEL = 16;

let s: TestServer;
let routes: AdminRoute[];
let powerless: SigningCredentials;
let keyId = '';
before(async () => {
  s = await startTestServer({ db: new InMemoryDbServiceForTests({ accountId: '111122223333', instant: true }) });
  // /v1/audit/verify walks the whole trail: correct, but 10,000 of them would time the run, not the pipeline
  routes = adminRoutesOf(s.app).filter((r) => r.url !== '/v1/audit/verify');
  const user = await s.iam.principals.createUser('fuzz-powerless');
  const k = await s.iam.accessKeys.create(user);
  powerless = { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  const created = await s.raw('TrentService.CreateKey', '{}');
  keyId = String(created.json.KeyMetadata.KeyId);
});
after(async () => { await s.cleanup(); });

type Creds = 'valid' | 'powerless' | 'unsigned' | 'wrong';
interface Req { family: 'json' | 'admin' | 'rds'; method: string; path: string; service: string; headers: Record<string, string>; body: string; creds: Creds }

const KMS_OPS = ['CreateKey', 'DescribeKey', 'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom',
  'EnableKey', 'DisableKey', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'CreateAlias', 'DeleteAlias', 'ListAliases', 'ListKeys', 'CreateGrant',
  'ListGrants', 'RetireGrant', 'RevokeGrant', 'GetKeyPolicy', 'PutKeyPolicy', 'TagResource', 'UntagResource', 'ListResourceTags',
  'EnableKeyRotation', 'GetKeyRotationStatus', 'RotateKeyOnDemand', 'UpdateKeyDescription', 'Bogus', 'constructor', '__proto__', 'toString'];
const SM_OPS = ['CreateSecret', 'GetSecretValue', 'PutSecretValue', 'DescribeSecret', 'ListSecrets', 'UpdateSecret', 'DeleteSecret', 'RestoreSecret',
  'TagResource', 'UntagResource', 'UpdateSecretVersionStage', 'ListSecretVersionIds', 'RotateSecret', 'GetRandomPassword', 'BatchGetSecretValue',
  'Bogus', 'hasOwnProperty', 'valueOf'];
const JSON_FIELDS = ['KeyId', 'Plaintext', 'CiphertextBlob', 'EncryptionContext', 'NumberOfBytes', 'KeySpec', 'AliasName', 'TargetKeyId', 'Limit',
  'Marker', 'GranteePrincipal', 'Operations', 'GrantId', 'Policy', 'PolicyName', 'Tags', 'TagKeys', 'PendingWindowInDays', 'Description',
  'SecretId', 'Name', 'SecretString', 'SecretBinary', 'VersionStages', 'ClientRequestToken', 'ForceDeleteWithoutRecovery', 'MaxResults',
  'NextToken', 'PasswordLength', 'SecretIdList', '__proto__', 'constructor'];
const RDS_ACTIONS = ['CreateDBInstance', 'DescribeDBInstances', 'ModifyDBInstance', 'StopDBInstance', 'StartDBInstance', 'RebootDBInstance',
  'DeleteDBInstance', 'DescribeDBEngineVersions', 'AddTagsToResource', 'ListTagsForResource', 'RemoveTagsFromResource', 'Bogus', '__proto__', ''];
const RDS_NAMES = ['DBInstanceIdentifier', 'Engine', 'DBInstanceClass', 'AllocatedStorage', 'MasterUsername', 'ManageMasterUserPassword',
  'StorageEncrypted', 'KmsKeyId', 'MaxRecords', 'Marker', 'SkipFinalSnapshot', 'ResourceName', 'Tags.Tag.1.Key', 'Tags.Tag.1.Value', 'TagKeys.member.1',
  'Filters.Filter.1.Name', 'Filters.Filter.1.Values.Value.1', 'constructor', 'Version'];
const PARAM_VALUES = ['fuzz-user', 'fuzz-role', 'AKIAFUZZ000000000000', '01890000-0000-7000-8000-000000000000', 'x', '%00', '..', 'a'.repeat(300), '__proto__'];

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('', 'alias/fuzz', 'fuzz/secret', 'AAAA', 'SYMMETRIC_DEFAULT', 'Encrypt', '20', 'true'),
  fc.string({ maxLength: 30, unit: 'binary' }));
const jsonValue = fc.oneof({ maxDepth: 2 }, text, fc.integer({ min: -5, max: 5000 }), fc.boolean(), fc.constant(null),
  fc.array(text, { maxLength: 3 }), fc.dictionary(fc.constantFrom('k', 'a', 'A', 'Purpose'), text, { maxKeys: 2 }));
const jsonBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...JSON_FIELDS), jsonValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)),
  fc.constantFrom('', 'not json', '{', '[]', 'null', '"x"', '{"KeyId":', '['.repeat(5000) + ']'.repeat(5000), `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3001)}`),
);
const creds = fc.constantFrom<Creds>('valid', 'valid', 'valid', 'valid', 'valid', 'powerless', 'unsigned', 'wrong');

const jsonReq = fc.tuple(fc.boolean(), fc.nat(), jsonBody, creds, fc.boolean()).map(([kms, i, body, c, useKey]): Req => {
  const ops = kms ? KMS_OPS : SM_OPS;
  const b = useKey && body.startsWith('{"') ? `{"KeyId":"${keyId}",${body.slice(1)}` : body;
  return { family: 'json', method: 'POST', path: '/', service: kms ? 'kms' : 'secretsmanager', body: b, creds: c,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${kms ? 'TrentService' : 'secretsmanager'}.${ops[i % ops.length]!}` } };
});
const adminReq = fc.tuple(fc.nat(), fc.constantFrom(...PARAM_VALUES), fc.dictionary(fc.constantFrom('UserName', 'RoleName', 'name', 'url', 'Status',
  'PolicyDocument', 'commonName', 'usage', 'keyId', 'PendingWindowInDays', 'monthlyLimit', 'maxResults'), jsonValue, { maxKeys: 4 }), creds)
  .map(([i, param, body, c]): Req => {
    const r = routes[i % routes.length]!;
    const path = r.url.replace(/:(\w+)/g, () => encodeURIComponent(param));
    const withBody = r.method !== 'GET' && r.method !== 'DELETE';
    return { family: 'admin', method: r.method, path, service: r.signingName ?? 'iam', creds: c, body: withBody ? JSON.stringify(body) : '',
      headers: withBody ? { 'content-type': 'application/json' } : {} };
  });
const rdsPair = fc.tuple(fc.constantFrom(...RDS_NAMES), text).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
const rdsReq = fc.tuple(fc.constantFrom(...RDS_ACTIONS), fc.array(fc.oneof(rdsPair, rdsPair, fc.constantFrom('%', '%zz', '&&', '=')), { maxLength: 10 }), creds)
  .map(([a, rest, c]): Req => ({ family: 'rds', method: 'POST', path: '/', service: 'rds', creds: c,
    body: [`Action=${encodeURIComponent(a)}`, 'Version=2014-10-31', ...rest].join('&'), headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }));
const anyReq = fc.oneof(jsonReq, adminReq, rdsReq);

interface Sent { status: number; requestId: string; code: string; family: Req['family']; what: string }

async function send(r: Req): Promise<Sent> {
  const u = new URL(s.url + r.path);
  const key = r.creds === 'valid' ? TEST_CREDS : r.creds === 'powerless' ? powerless : { accessKeyId: TEST_CREDS.accessKeyId, secretAccessKey: 'wrong-secret' };
  const headers = r.creds === 'unsigned' ? r.headers
    : signRequest({ method: r.method, host: u.host, path: u.pathname, headers: r.headers, body: r.body }, key, { region: 'us-east-1', service: r.service });
  const { host: _host, ...h } = headers;
  const res = await fetch(u, { method: r.method, headers: h, ...(r.body ? { body: r.body } : {}) });
  const body = await res.text();
  let requestId = res.headers.get('x-amzn-requestid') ?? '';
  let code = '';
  if (res.status >= 400) {
    if (body.startsWith('<')) code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '';
    else {
      const j = JSON.parse(body) as { requestId?: string; error?: string; __type?: string };
      code = j.error ?? j.__type ?? '';
      requestId ||= j.requestId ?? '';
    }
  }
  return { status: res.status, requestId, code, family: r.family, what: `${r.family} ${r.method} ${r.path} ${r.headers['x-amz-target'] ?? ''} ${r.creds} ${r.body.slice(0, 120)}` };
}

test(`fast-check: ${TOTAL} requests over AWS JSON, /v1 admin and RDS Query: no 5xx, responsive, every refusal audited`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  const refused: Sent[] = [];
  const counts = { json: 0, admin: 0, rds: 0 };
  let worstProbeMs = 0;
  let probes = 0;
  let running = true;
  const probe = (async () => {
    while (running) {
      const t = Date.now();
      const res = await fetch(`${s.url}/v1/health`);
      assert.equal(res.status, 200);
      await res.text();
      worstProbeMs = Math.max(worstProbeMs, Date.now() - t);
      probes++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await fc.assert(fc.asyncProperty(fc.array(anyReq, { minLength: PARALLEL, maxLength: PARALLEL }), async (batch) => {
      const results = await Promise.all(batch.map(send));
      for (const r of results) {
        counts[r.family]++;
        assert.ok(r.status < 500, `${r.status}: ${r.what}`);
        if (r.status >= 400) refused.push(r);
      }
    }), { numRuns: Math.ceil(TOTAL / PARALLEL), seed: Number(process.env['REKEY_FUZZ_SEED'] ?? Date.now() % 2 ** 31), endOnFailure: true });
  } finally {
    running = false;
    await probe;
  }
  const sent = counts.json + counts.admin + counts.rds;
  assert.ok(sent >= TOTAL, `${sent} sent`);
  assert.ok(counts.json > sent / 5 && counts.admin > sent / 5 && counts.rds > sent / 5, JSON.stringify(counts));
  assert.ok(probes > 0 && worstProbeMs < 5000, `health probes: ${probes}, slowest ${worstProbeMs} ms`);

  // every refusal is on the trail: collect the request ids of events that carry an errorCode
  const audited = new Set<string>();
  let events = 0;
  let nextToken: string | undefined;
  do {
    const page = await s.audit.lookup({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
    for (const r of page.events) {
      events++;
      const e = r.event as { requestID?: string; errorCode?: string };
      if (e.errorCode && e.requestID) audited.add(e.requestID);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  // refused by the HTTP router before any route or operation is chosen (a URL that names no route, as
  // fetch resolves "/v1/iam/users/../x"; a path parameter over the router's 100 characters): answered
  // in the API's error shape, not audited (docs/AUDIT.md)
  const routerRefusal = (r: Sent) => r.code === 'RouteNotFoundException' || r.code === 'RequestUriTooLongException';
  const noRoute = refused.filter(routerRefusal).length;
  const missing = refused.filter((r) => !routerRefusal(r) && (!r.requestId || !audited.has(r.requestId)));
  assert.deepEqual(missing.slice(0, 5).map((m) => `${m.status} ${m.code} ${m.what}`), [], `${missing.length} of ${refused.length} refused requests have no audit event`);
  console.log(`# all-apis fuzz: ${sent} requests (${JSON.stringify(counts)}), ${refused.length - noRoute} refused and all audited (${events} events), ${noRoute} refused by the router, `
    + `0 responses >= 500, ${probes} health probes (slowest ${worstProbeMs} ms), ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
