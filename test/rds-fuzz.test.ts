// Bad input never crashes the RDS adapter: random form bodies (known and unknown parameter names,
// list syntax with odd indexes, broken %-escapes, long values), correctly signed, always get a
// well-formed RDS XML answer below 500, and a failed call creates nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { rdsRaw } from './helpers/rds.ts';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';

let s: TestServer;
let db: InMemoryDbServiceForTests;
before(async () => {
  db = new InMemoryDbServiceForTests({ accountId: '111122223333', instant: true });
  s = await startTestServer({ db });
});
after(async () => { await s.cleanup(); });

const ACTIONS = ['CreateDBInstance', 'DescribeDBInstances', 'ModifyDBInstance', 'StopDBInstance', 'StartDBInstance', 'RebootDBInstance', 'DeleteDBInstance',
  'DescribeDBEngineVersions', 'AddTagsToResource', 'ListTagsForResource', 'RemoveTagsFromResource', 'Bogus', '__proto__', ''];
const NAMES = ['DBInstanceIdentifier', 'Engine', 'DBInstanceClass', 'AllocatedStorage', 'MasterUsername', 'MasterUserPassword', 'ManageMasterUserPassword',
  'StorageEncrypted', 'KmsKeyId', 'DBName', 'Port', 'MaxRecords', 'Marker', 'SkipFinalSnapshot', 'FinalDBSnapshotIdentifier', 'ResourceName',
  'Tags', 'Tags.Tag.1.Key', 'Tags.Tag.1.Value', 'Tags.member.2.Key', 'Tags.Tag.0.Key', 'Tags.Tag.99999.Key', 'TagKeys.member.1', 'TagKeys',
  'Filters.Filter.1.Name', 'Filters.Filter.1.Values.Value.1', 'Filters.Filter.1.Values.Value.x', 'constructor', 'Version'];
const value = fc.oneof(fc.constantFrom('postgres', 'true', 'false', '20', '-1', 'db.t3.micro', 'app', 'arn:aws:rds:us-east-1:111122223333:db:a', ''),
  fc.string({ maxLength: 80 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,70}$/));
const pair = fc.tuple(fc.constantFrom(...NAMES), value).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
const junk = fc.constantFrom('%', '%zz', '&&', '=', 'a=%E0%A4', '+', 'Tags.Tag.1.Key');
const body = fc.tuple(fc.constantFrom(...ACTIONS), fc.constantFrom('2014-10-31', '2014-10-31', '2013-01-10'), fc.array(fc.oneof(pair, pair, junk), { maxLength: 12 }))
  .map(([a, v, rest]) => [`Action=${encodeURIComponent(a)}`, `Version=${v}`, ...rest].join('&'));

const parser = new XMLParser();

test('random form bodies: never a 5xx, always RDS XML, failed calls create nothing', async () => {
  await fc.assert(fc.asyncProperty(body, async (b) => {
    const before = (await db.list({ limit: 1000 })).instances.length;
    const r = await rdsRaw(s, b);
    assert.ok(r.status < 500, `${r.status} for ${b}: ${r.text}`);
    const doc = parser.parse(r.text) as Record<string, unknown>;
    if (r.status === 200) {
      assert.equal(Object.keys(doc).length, 1);
      assert.match(Object.keys(doc)[0]!, /^[A-Za-z]+Response$/);
    } else {
      assert.ok('ErrorResponse' in doc, r.text);
      assert.equal((await db.list({ limit: 1000 })).instances.length, before);
    }
  }), { numRuns: 150 });
});
