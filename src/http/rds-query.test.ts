// The RDS Query serializers, byte for byte: the response envelope with <Action>Result and
// ResponseMetadata, list items named by the model's member locationName (DBInstance, Tag,
// DBEngineVersion), booleans and timestamps as botocore's query parser reads them, and the
// ErrorResponse shape (botocore/data/rds/2014-10-31/service-2.json; RDS API Reference "Common Errors").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rdsError, rdsQueryService, RDS_OPERATION_TABLE } from './rds-query.ts';
import { queryErrorXml, queryResultXml } from './query.ts';
import type { DbService } from '../db/api.ts';
import type { IamService } from '../iam/service.ts';
import { AccessDeniedException, InvalidSignatureException, ThrottlingException, UnrecognizedClientException, DBInstanceNotFoundFault, MalformedQueryString } from '../errors.ts';

const NS = 'http://rds.amazonaws.com/doc/2014-10-31/';
// what the pipeline sends: QueryProtocol.sendResult wraps the service's serializer in the envelope
const svc = rdsQueryService({ db: {} as DbService, iam: { partition: 'aws', region: 'us-east-1', accountId: '111122223333' } as IamService });
const rdsResultXml = (action: string, result: Record<string, unknown>, requestId: string) => queryResultXml(svc.xmlNamespace, action, svc.serialize!(action, result), requestId);
const rdsErrorXml = (code: string, message: string, requestId: string, server = false) => queryErrorXml(svc.xmlNamespace, code, message, requestId, server);

test('result envelope, lists and scalars', () => {
  const xml = rdsResultXml('DescribeDBInstances', {
    Marker: 'bWFya2Vy',
    DBInstances: [{ DBInstanceIdentifier: 'a&b', StorageEncrypted: true, AllocatedStorage: 20, InstanceCreateTime: new Date('2026-01-02T03:04:05.678Z'), TagList: [{ Key: 'k', Value: '<v>' }], Endpoint: { Address: 'h', Port: 5432 }, KmsKeyId: undefined }],
  }, 'req-1');
  assert.equal(xml, `<DescribeDBInstancesResponse xmlns="${NS}"><DescribeDBInstancesResult><Marker>bWFya2Vy</Marker><DBInstances><DBInstance>`
    + '<DBInstanceIdentifier>a&amp;b</DBInstanceIdentifier><StorageEncrypted>true</StorageEncrypted><AllocatedStorage>20</AllocatedStorage>'
    + '<InstanceCreateTime>2026-01-02T03:04:05.678Z</InstanceCreateTime><TagList><Tag><Key>k</Key><Value>&lt;v&gt;</Value></Tag></TagList>'
    + '<Endpoint><Address>h</Address><Port>5432</Port></Endpoint></DBInstance></DBInstances></DescribeDBInstancesResult>'
    + '<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeDBInstancesResponse>');
  assert.equal(rdsResultXml('AddTagsToResource', {}, 'r'), `<AddTagsToResourceResponse xmlns="${NS}"><AddTagsToResourceResult></AddTagsToResourceResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AddTagsToResourceResponse>`);
  assert.match(rdsResultXml('ListTagsForResource', { TagList: [] }, 'r'), /<TagList><\/TagList>/);
  assert.match(rdsResultXml('DescribeDBEngineVersions', { DBEngineVersions: [{ Engine: 'postgres' }, { Engine: 'mariadb' }] }, 'r'),
    /<DBEngineVersions><DBEngineVersion><Engine>postgres<\/Engine><\/DBEngineVersion><DBEngineVersion><Engine>mariadb<\/Engine><\/DBEngineVersion><\/DBEngineVersions>/);
});

test('error envelope and the Query codes of rekey errors', () => {
  assert.equal(rdsErrorXml('DBInstanceNotFound', 'DBInstance x not found.', 'rid'),
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>DBInstanceNotFound</Code><Message>DBInstance x not found.</Message></Error><RequestId>rid</RequestId></ErrorResponse>`);
  assert.match(rdsErrorXml('InternalFailure', 'm', 'rid', true), /<Type>Receiver<\/Type>/);
  assert.deepEqual(rdsError(new AccessDeniedException('m')), { code: 'AccessDenied', status: 403 });
  assert.deepEqual(rdsError(new UnrecognizedClientException('m')), { code: 'InvalidClientTokenId', status: 403 });
  assert.deepEqual(rdsError(new InvalidSignatureException('m')), { code: 'SignatureDoesNotMatch', status: 403 });
  assert.deepEqual(rdsError(new ThrottlingException('m')), { code: 'Throttling', status: 400 });
  assert.deepEqual(rdsError(new DBInstanceNotFoundFault('m')), { code: 'DBInstanceNotFound', status: 404 });
  assert.deepEqual(rdsError(new MalformedQueryString('m')), { code: 'MalformedQueryString', status: 404 });
});

test('the operation table holds the eighteen operations and nothing inherited', () => {
  assert.deepEqual([...RDS_OPERATION_TABLE.keys()].sort(), [
    'AddTagsToResource', 'CopyDBSnapshot', 'CreateDBInstance', 'CreateDBInstanceReadReplica', 'CreateDBSnapshot', 'DeleteDBInstance', 'DeleteDBSnapshot',
    'DescribeDBEngineVersions', 'DescribeDBInstances', 'DescribeDBSnapshots', 'ListTagsForResource',
    'ModifyDBInstance', 'PromoteReadReplica', 'RebootDBInstance', 'RemoveTagsFromResource', 'RestoreDBInstanceFromDBSnapshot', 'StartDBInstance', 'StopDBInstance',
  ]);
  assert.equal(RDS_OPERATION_TABLE.get('constructor'), undefined);
});

test('read replicas: list items named as the model\'s locationNames (ReadReplicaDBInstanceIdentifier, DBInstanceStatusInfo)', () => {
  const xml = rdsResultXml('DescribeDBInstances', { DBInstances: [{ DBInstanceIdentifier: 'src', ReadReplicaDBInstanceIdentifiers: ['a', 'b'] },
    { DBInstanceIdentifier: 'a', ReadReplicaSourceDBInstanceIdentifier: 'src', StatusInfos: [{ StatusType: 'read replication', Normal: true, Status: 'replicating' }] }] }, 'r');
  assert.match(xml, /<ReadReplicaDBInstanceIdentifiers><ReadReplicaDBInstanceIdentifier>a<\/ReadReplicaDBInstanceIdentifier><ReadReplicaDBInstanceIdentifier>b<\/ReadReplicaDBInstanceIdentifier><\/ReadReplicaDBInstanceIdentifiers>/);
  assert.match(xml, /<ReadReplicaSourceDBInstanceIdentifier>src<\/ReadReplicaSourceDBInstanceIdentifier><StatusInfos><DBInstanceStatusInfo><StatusType>read replication<\/StatusType><Normal>true<\/Normal><Status>replicating<\/Status><\/DBInstanceStatusInfo><\/StatusInfos>/);
});
