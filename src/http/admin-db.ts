// Admin routes of the databases component (/v1/db) that have no RDS equivalent: `rekey db show`
// (with a mariadb instance's key rotation progress), the live change of an instance's storage key (`rekey db change-key`, src/db/change-key.ts). RDS cannot do
// it; its KMS checks mirror CreateDBInstance's (the caller must be able to use the new key through
// RDS: kms:CreateGrant and kms:DescribeKey via rds.<region>.amazonaws.com).
import type { DbCallContext, DbInstance } from '../db/api.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

export interface DbAdmin {
  changeKey(id: string, kmsKeyId: string, ctx: DbCallContext): Promise<{ instance: DbInstance; jobId: string }>;
  /** The instance as the DbService shows it (read replicas: replication state and lag). */
  service: { get(id: string): Promise<DbInstance> };
}

const ID = '^[a-zA-Z][a-zA-Z0-9-]{0,62}$';

export function dbAdminRoutes(db: DbAdmin, scope: { region: string; accountId: string }): AdminRoute[] {
  const id = (i: AdminInput) => String(i['id'] ?? '').toLowerCase();
  return [
    {
      method: 'POST', url: '/v1/db/instances/:id/change-key', action: 'rekey:ChangeDBInstanceKey',
      summary: 'Move a running encrypted instance onto a new KMS key (replica on a new volume, atomic cutover at the same endpoint, old volume key destroyed)',
      resource: (i) => `arn:aws:rds:${scope.region}:${scope.accountId}:db:${id(i)}`,
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: ID } } },
        body: { type: 'object', required: ['kmsKeyId'], additionalProperties: false, properties: { kmsKeyId: { type: 'string', minLength: 1, maxLength: 2048 } } },
      },
      audit: ['id', 'kmsKeyId'], status: 202,
      // the change-key job's first write waits for the call's event (DbCallContext.beforeCommit)
      gate: 'operation',
      run: async (i, { caller, request }) => {
        const r = await db.changeKey(id(i), String(i['kmsKeyId']), {
          caller, requestId: request.requestId ?? '', sourceIp: request.sourceIp ?? '', secureTransport: request.secureTransport ?? false, userAgent: request.userAgent ?? '',
          ...(request.beforeCommit ? { beforeCommit: request.beforeCommit } : {}),
        });
        return { dbInstanceIdentifier: r.instance.id, status: r.instance.status, kmsKeyId: r.instance.kmsKeyId, jobId: r.jobId };
      },
    },
    {
      // `rekey db show`: the instance as DescribeDBInstances sees it, with rekey's details (a mariadb instance's key rotation)
      method: 'GET', url: '/v1/db/instances/:id', action: 'rds:DescribeDBInstances',
      summary: 'One instance: status, endpoint, key, and an encrypted mariadb instance\'s key rotation progress (InnoDB tablespaces below the newest key version)',
      resource: (i) => `arn:aws:rds:${scope.region}:${scope.accountId}:db:${id(i)}`,
      schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: ID } } } },
      audit: ['id'],
      run: async (i) => {
        const d = await db.service.get(id(i));
        return {
          dbInstanceIdentifier: d.id, engine: d.engine, engineVersion: d.engineVersion, status: d.status, storageEncrypted: d.storageEncrypted,
          ...(d.kmsKeyId !== undefined ? { kmsKeyId: d.kmsKeyId } : {}),
          ...(d.endpoint ? { endpoint: d.endpoint } : {}),
          ...(d.keyRotation ? { keyRotation: d.keyRotation } : {}),
        };
      },
    },
    {
      // RDS reports ReplicaLag as a CloudWatch metric, not through DescribeDBInstances: this is rekey's way to read it
      method: 'GET', url: '/v1/db/instances/:id/replication', action: 'rekey:DescribeDBInstanceReplication',
      summary: 'A read replica\'s replication (source, status, lag in seconds) or a source\'s replicas',
      resource: (i) => `arn:aws:rds:${scope.region}:${scope.accountId}:db:${id(i)}`,
      schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: ID } } } },
      audit: ['id'],
      run: async (i) => {
        const d = await db.service.get(id(i));
        return {
          dbInstanceIdentifier: d.id, status: d.status,
          ...(d.readReplicaSourceId !== undefined ? { readReplicaSourceDBInstanceIdentifier: d.readReplicaSourceId } : {}),
          readReplicaDBInstanceIdentifiers: d.readReplicaIds ?? [],
          ...(d.replication ? { replication: d.replication.status, normal: d.replication.normal, ...(d.replication.message ? { message: d.replication.message } : {}) } : {}),
          ...(d.replicaLagSeconds !== undefined ? { replicaLagSeconds: d.replicaLagSeconds } : {}),
        };
      },
    },
  ];
}
