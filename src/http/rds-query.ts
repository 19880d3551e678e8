// The Amazon RDS Query protocol on POST / (form-encoded Action=...&Version=2014-10-31, SigV4
// service "rds", XML responses), around src/rds: a QueryService of the one request pipeline
// (rdsQueryService, passed in buildApp's queryServices by src/server/start.ts).
//
// Wire shapes (botocore/data/rds/2014-10-31/service-2.json, xmlNamespace
// http://rds.amazonaws.com/doc/2014-10-31/; each output has a resultWrapper "<Action>Result"):
//   <CreateDBInstanceResponse xmlns="..."><CreateDBInstanceResult><DBInstance>...</DBInstance>
//   </CreateDBInstanceResult><ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></CreateDBInstanceResponse>
//   lists wrap each element in the member's locationName: <DBInstances><DBInstance>, <TagList><Tag>,
//   <DBEngineVersions><DBEngineVersion>; errors:
//   <ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>
import { XMLBuilder } from 'fast-xml-parser';
import type { RekeyError } from '../errors.ts';
import type { DbService } from '../db/api.ts';
import type { IamService } from '../iam/service.ts';
import { RdsApi, auditOutputOf } from '../rds/api.ts';
import { RDS_API_VERSION } from '../rds/wire.ts';
import { RDS_OPERATION_TABLE } from '../rds/operations/index.ts';
import type { QueryOperation, QueryService } from './query.ts';
import { stsError } from './sts.ts';

export { RDS_OPERATION_TABLE };
export const RDS_NAMESPACE = 'http://rds.amazonaws.com/doc/2014-10-31/';

/** List members and the element name of each item (the model's member locationName). */
const LIST_ITEM: Readonly<Record<string, string>> = {
  DBInstances: 'DBInstance', TagList: 'Tag', DBEngineVersions: 'DBEngineVersion', DBSnapshots: 'DBSnapshot',
  ReadReplicaDBInstanceIdentifiers: 'ReadReplicaDBInstanceIdentifier', StatusInfos: 'DBInstanceStatusInfo',
};

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });

function xmlValue(name: string, v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  if (Array.isArray(v)) {
    const item = LIST_ITEM[name] ?? 'member';
    return v.length === 0 ? {} : { [item]: v.map((x) => xmlValue(item, x)) };
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = xmlValue(k, x);
    return out;
  }
  return '';
}

/** The RDS Query code and status of a rekey error (the STS mapping for authentication and access; RDS's Throttling). */
export function rdsError(e: RekeyError): { code: string; status: number } {
  if (e.code === 'ThrottlingException') return { code: 'Throttling', status: 400 };
  return stsError(e);
}

export interface RdsQueryDeps {
  db: DbService;
  iam: IamService;
}

/**
 * The RDS API as a Query service of the one request pipeline (src/http/query.ts, pipeline.ts):
 * the pipeline parses the form, authenticates for "rds", applies quotas and mTLS, and audits; each
 * operation here decodes and validates (RdsApi.prepare), authorizes rds:<Action> on the resource,
 * and runs against the DbService, whose mutating methods pass the audit gate before their first write.
 */
export function rdsQueryService(deps: RdsQueryDeps): QueryService {
  const api = new RdsApi({ db: deps.db, partition: deps.iam.partition, region: deps.iam.region, accountId: deps.iam.accountId }, deps.iam);
  const operations = new Map<string, QueryOperation>();
  for (const action of RDS_OPERATION_TABLE.keys()) {
    operations.set(action, async (params, caller, request) => {
      const prepared = api.prepare(new Map(Object.entries(params)));
      api.authorize(prepared, caller, request);
      const beforeCommit = request.beforeCommit;
      return api.run(prepared, {
        caller, requestId: request.requestId ?? '', sourceIp: request.sourceIp ?? '', secureTransport: request.secureTransport === true,
        userAgent: request.userAgent ?? '',
        ...(beforeCommit ? { beforeCommit: (partial: unknown) => beforeCommit(auditOutputOf(partial)) } : {}),
      });
    });
  }
  return {
    signingName: 'rds', version: RDS_API_VERSION, xmlNamespace: RDS_NAMESPACE, auditName: 'rds', operations,
    errorCode: rdsError,
    serialize: (action, result) => builder.build(xmlValue(`${action}Result`, result) as Record<string, unknown>) as string,
  };
}
