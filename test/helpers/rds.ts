// The RDS Query API for integration tests: the real @aws-sdk/client-rds pointed at a test server,
// and raw form requests signed for service "rds" (bad input the SDK would never send).
import { CreateDBInstanceCommand, type DBInstance, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { until } from './db-node.ts';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { TEST_CREDS, type TestServer } from './server.ts';
import type { Creds } from './sts.ts';

export function rdsClient(s: TestServer, creds: Creds = TEST_CREDS): RDSClient {
  return new RDSClient({ endpoint: s.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
}

export interface RawResponse { status: number; text: string; code?: string; message?: string; type?: string; requestId?: string }

const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'", '&amp;': '&' };
const unescape = (s: string) => s.replace(/&(?:lt|gt|quot|apos|amp);/g, (m) => ENTITIES[m]!);
const tag = (xml: string, name: string) => {
  const v = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  return v === undefined ? undefined : unescape(v);
};

/** POSTs `body` as a form, SigV4-signed with credential scope `service` (default rds) unless sign is false. */
export async function rdsRaw(s: TestServer, body: string, o: { creds?: Creds; service?: string; sign?: boolean; contentType?: string } = {}): Promise<RawResponse> {
  const u = new URL(s.url);
  let req = new HttpRequest({ method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/', body,
    headers: { host: u.host, 'content-type': o.contentType ?? 'application/x-www-form-urlencoded; charset=utf-8' } });
  if (o.sign !== false) req = (await new SignatureV4({ credentials: o.creds ?? TEST_CREDS, region: 'us-east-1', service: o.service ?? 'rds', sha256: Sha256 }).sign(req)) as HttpRequest;
  const headers = { ...req.headers };
  delete headers['host'];
  const res = await fetch(s.url + '/', { method: 'POST', headers, body });
  const text = await res.text();
  const r: RawResponse = { status: res.status, text };
  for (const k of ['code', 'message', 'type', 'requestId'] as const) {
    const v = tag(text, k === 'requestId' ? 'RequestId' : k[0]!.toUpperCase() + k.slice(1));
    if (v !== undefined) r[k] = v;
  }
  return r;
}

/** A CreateDBInstance form for a small PostgreSQL instance, with overrides. */
export function createForm(id: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    Action: 'CreateDBInstance', Version: '2014-10-31', DBInstanceIdentifier: id, Engine: 'postgres', DBInstanceClass: 'db.t3.micro',
    AllocatedStorage: '20', MasterUsername: 'app', ManageMasterUserPassword: 'true', ...extra,
  }).toString();
}

/** DescribeDBInstances of one instance, and a wait (polling every 200 ms) until it has a status. */
export function instanceWatch(rds: RDSClient, id: string): { describe: () => Promise<DBInstance>; waitFor: (status: string) => Promise<DBInstance> } {
  const describe = async (): Promise<DBInstance> => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
  const waitFor = (status: string) => until(`${id} ${status}`, async () => {
    const i = await describe();
    return i.DBInstanceStatus === status ? i : undefined;
  }, 180_000, 200);
  return { describe, waitFor };
}

/** CreateDBInstance of a small encrypted mariadb instance with a managed master secret (user app). */
export async function createEncryptedMariadb(rds: RDSClient, id: string, keyId: string, dbName: string): Promise<void> {
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: id, Engine: 'mariadb', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    ManageMasterUserPassword: true, StorageEncrypted: true, KmsKeyId: keyId, DBName: dbName,
  }));
}
