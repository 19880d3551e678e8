// The Query protocol adapter with a second service registered beside STS, the way the RDS API
// plugs in (docs/ARCHITECTURE.md, "Adding a protocol or a service"): routing by the SigV4
// credential scope (then by Version), the service's own namespace, serializer and error codes,
// and the shared XML error envelope.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { DBInstanceAlreadyExistsFault, DBInstanceNotFoundFault } from '../errors.ts';
import { signRequest, type SigningCredentials } from '../iam/sigv4-sign.ts';
import { REGION, testIam } from '../iam/testing.ts';
import { QueryProtocol, esc, type QueryOperation, type QueryService } from './query.ts';
import { AwsJsonProtocol } from './aws-json.ts';
import { serveAwsCall, type Protocol } from './pipeline.ts';
import { stsService } from './sts.ts';
import { MemoryAudit } from './testing.ts';

const RDS_NS = 'http://rds.amazonaws.com/doc/2014-10-31/';

/** A stand-in for the RDS table: one read, one write that fails, both seeing the parsed parameters. */
function fakeRds(seen: Record<string, string>[]): QueryService {
  const operations = new Map<string, QueryOperation>([
    ['DescribeDBInstances', async (p) => {
      seen.push({ ...p, nullPrototype: String(Object.getPrototypeOf(p) === null) });
      if (p['DBInstanceIdentifier'] === 'missing') throw new DBInstanceNotFoundFault('DBInstance missing not found.');
      return { DBInstances: [{ DBInstanceIdentifier: 'db1', Engine: 'postgres' }] };
    }],
    ['CreateDBInstance', async (p, _caller, request) => {
      await request.beforeCommit?.();
      throw new DBInstanceAlreadyExistsFault(`DB instance already exists: ${p['DBInstanceIdentifier']}`);
    }],
  ]);
  return {
    signingName: 'rds', version: '2014-10-31', xmlNamespace: RDS_NS, auditName: 'kms', operations,
    // RDS lists its members as <DBInstance>, not <member>: the service's own serializer is used
    serialize: (action, r) => action === 'DescribeDBInstances'
      ? `<DBInstances>${(r['DBInstances'] as { DBInstanceIdentifier: string; Engine: string }[]).map((d) => `<DBInstance><DBInstanceIdentifier>${esc(d.DBInstanceIdentifier)}</DBInstanceIdentifier><Engine>${esc(d.Engine)}</Engine></DBInstance>`).join('')}</DBInstances>`
      : '',
  };
}

async function server() {
  const t = await testIam();
  const audit = new MemoryAudit();
  const seen: Record<string, string>[] = [];
  const query = new QueryProtocol([REGION]);
  query.register(stsService(t.iam));
  query.register(fakeRds(seen));
  const protocols: Protocol[] = [query, new AwsJsonProtocol()];
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const deps = { region: REGION, audit, authenticate: t.iam.authenticate.bind(t.iam) };
  app.post('/', (req, reply) => serveAwsCall(req, reply, protocols.find((p) => p.accepts(req))!, deps));
  await app.ready();
  after(() => app.close());
  const call = async (creds: SigningCredentials | null, service: string, form: Record<string, string>) => {
    const body = new URLSearchParams(form).toString();
    const base = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const headers = creds ? signRequest({ method: 'POST', host: 'localhost:80', path: '/', headers: base, body }, creds, { region: REGION, service, now: t.clock.now() }) : base;
    const r = await app.inject({ method: 'POST', url: '/', headers, payload: body });
    return { status: r.statusCode, type: r.headers['content-type'], text: r.body };
  };
  return { ...t, call, audit, seen, query };
}

test('a second Query service is routed by the credential scope, with its namespace and serializer', async () => {
  const { call, admin, seen, audit } = await server();
  const r = await call(admin, 'rds', { Action: 'DescribeDBInstances', Version: '2014-10-31', 'Filters.Filter.1.Name': 'engine', 'Filters.Filter.1.Values.Value.1': 'postgres' });
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.type), /^text\/xml/);
  assert.match(r.text, /^<DescribeDBInstancesResponse xmlns="http:\/\/rds\.amazonaws\.com\/doc\/2014-10-31\/"><DescribeDBInstancesResult><DBInstances><DBInstance><DBInstanceIdentifier>db1<\/DBInstanceIdentifier><Engine>postgres<\/Engine><\/DBInstance><\/DBInstances><\/DescribeDBInstancesResult><ResponseMetadata><RequestId>[^<]+<\/RequestId><\/ResponseMetadata><\/DescribeDBInstancesResponse>$/);
  // the operation sees every parameter as sent, in an object without a prototype
  assert.deepEqual(seen[0], { Action: 'DescribeDBInstances', Version: '2014-10-31', 'Filters.Filter.1.Name': 'engine', 'Filters.Filter.1.Values.Value.1': 'postgres', nullPrototype: 'true' });
  assert.equal(audit.events.at(-1)?.eventName, 'DescribeDBInstances');

  // STS still answers its own scope
  const who = await call(admin, 'sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' });
  assert.match(who.text, /^<GetCallerIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
});

test('errors use the service\'s namespace and codes in the shared ErrorResponse envelope', async () => {
  const { call, admin, audit } = await server();
  const nf = await call(admin, 'rds', { Action: 'DescribeDBInstances', Version: '2014-10-31', DBInstanceIdentifier: 'missing' });
  assert.equal(nf.status, 404);
  assert.match(nf.text, /^<ErrorResponse xmlns="http:\/\/rds\.amazonaws\.com\/doc\/2014-10-31\/"><Error><Type>Sender<\/Type><Code>DBInstanceNotFound<\/Code><Message>DBInstance missing not found\.<\/Message><\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>$/);

  // a mutation that passed its audit gate and then failed: the event, then its correction
  const dup = await call(admin, 'rds', { Action: 'CreateDBInstance', Version: '2014-10-31', DBInstanceIdentifier: 'db1' });
  assert.equal(dup.status, 400);
  assert.match(dup.text, /<Code>DBInstanceAlreadyExists<\/Code><Message>DB instance already exists: db1<\/Message>/);
  const [ok, corrected] = audit.events.slice(-2);
  assert.deepEqual([ok?.eventName, ok?.errorCode, corrected?.errorCode], ['CreateDBInstance', undefined, 'DBInstanceAlreadyExists']);
  assert.equal((corrected?.additionalEventData as { correctsEventId?: string }).correctsEventId, ok?.eventID);

  const unknown = await call(admin, 'rds', { Action: 'constructor', Version: '2014-10-31' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.text, /<Code>InvalidAction<\/Code><Message>Could not find operation constructor for version 2014-10-31<\/Message>/);

  // unsigned: routed by Version, refused by authentication in that service's envelope
  const unsigned = await call(null, 'rds', { Action: 'DescribeDBInstances', Version: '2014-10-31' });
  assert.equal(unsigned.status, 403);
  assert.match(unsigned.text, /^<ErrorResponse xmlns="http:\/\/rds\.amazonaws\.com\/doc\/2014-10-31\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationTokenException<\/Code>/);
});

test('registering a signing name twice is refused', async () => {
  const { query } = await server();
  assert.throws(() => query.register(fakeRds([])), { message: 'Query service rds is registered twice' });
});
