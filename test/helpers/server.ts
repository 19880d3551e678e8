// Starts a real rekey server in-process on a random port with a fresh data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { loadConfig } from '../../src/config/config.ts';
import { startServer, type RunningServer } from '../../src/server/start.ts';
import type { RotationStrategy } from '../../src/secrets/strategy.ts';
import type { DbService } from '../../src/db/api.ts';

export const TEST_CREDS = { accessKeyId: 'AKIAREKEYTEST0000001', secretAccessKey: 'test-secret-access-key-0000000000000001' };

export interface TestServer extends RunningServer {
  dataDir: string;
  /** HTTPS servers: rekey's CA certificate (PEM), what clients pass as their CA bundle. */
  ca?: string;
  kmsClient(creds?: { accessKeyId: string; secretAccessKey: string }, extra?: Partial<ConstructorParameters<typeof KMSClient>[0]>): KMSClient;
  secretsClient(creds?: { accessKeyId: string; secretAccessKey: string }): SecretsManagerClient;
  /** Sends a SigV4-signed raw request (body exactly as given) and returns status, headers, parsed body. */
  raw(target: string | undefined, body: string | Buffer, opts?: { headers?: Record<string, string>; sign?: boolean; creds?: typeof TEST_CREDS }): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  restart(): Promise<TestServer>;
  cleanup(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  env?: Record<string, string>;
  /** Built-in secret-rotation strategies (src/secrets/strategy.ts). */
  secretStrategies?: readonly RotationStrategy[];
  /** Database instances behind the RDS Query API (test/rds-*.test.ts pass src/rds/testing.ts's double). */
  db?: DbService;
  /** The server's clock (audit times, quota buckets, ...): tests move time instead of sleeping. */
  clock?: () => Date;
}

export async function startTestServer(o: StartOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'rekey-test-'));
  const env = { REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_LOG_LEVEL: 'silent',
    // quotas (AWS's CreateKey 5/s, ...) are tested in test/quotas.test.ts; elsewhere they would only slow the suite
    REKEY_QUOTAS: 'off', ...o.env };
  const cfg = loadConfig({ dataDir, port: 0 }, env);
  const s = await startServer(cfg, { ...(o.secretStrategies ? { secretStrategies: o.secretStrategies } : {}), ...(o.db ? { db: o.db } : {}), ...(o.clock ? { clock: o.clock } : {}) });
  const ca = s.certs?.caBundle();
  // over HTTPS the SDK trusts rekey's CA, as a user passes --ca-bundle / an https.Agent with `ca`
  const tlsHandler = () => (ca ? { requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca, keepAlive: true }) }) } : {});
  const signer = (creds: typeof TEST_CREDS, service = 'kms') => new SignatureV4({ credentials: creds, region: cfg.region, service, sha256: Sha256 });
  const t: TestServer = Object.assign(s, {
    dataDir,
    ...(ca ? { ca } : {}),
    kmsClient(creds = TEST_CREDS, extra = {}) {
      return new KMSClient({ endpoint: s.url, region: cfg.region, credentials: creds, maxAttempts: 1, ...tlsHandler(), ...extra });
    },
    secretsClient(creds = TEST_CREDS) {
      return new SecretsManagerClient({ endpoint: s.url, region: cfg.region, credentials: creds, maxAttempts: 1, ...tlsHandler() });
    },
    async raw(target: string | undefined, body: string | Buffer, ro: { headers?: Record<string, string>; sign?: boolean; creds?: typeof TEST_CREDS } = {}) {
      const u = new URL(s.url);
      const headers: Record<string, string> = { host: u.host, 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}), ...ro.headers };
      let req = new HttpRequest({ method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/', headers, body });
      // signed for the service the target names (secretsmanager.* -> secretsmanager), KMS otherwise
      if (ro.sign !== false) req = (await signer(ro.creds ?? TEST_CREDS, target?.startsWith('secretsmanager.') ? 'secretsmanager' : 'kms').sign(req)) as HttpRequest;
      const h = { ...req.headers };
      delete h.host;
      if (ca) {
        // fetch cannot take a CA: node:https for HTTPS servers
        const r = await new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
          const rq = httpsRequest(s.url + '/', { method: 'POST', headers: h, ca }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)])), text: Buffer.concat(chunks).toString() }));
          });
          rq.on('error', reject);
          rq.end(body);
        });
        let json: any;
        try { json = JSON.parse(r.text); } catch { json = undefined; }
        return { ...r, json };
      }
      const res = await fetch(s.url + '/', { method: 'POST', headers: h, body: typeof body === 'string' ? body : new Uint8Array(body) });
      const text = await res.text();
      let json: any;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, headers: res.headers, json, text };
    },
    async restart() {
      await s.close();
      return startTestServer({ ...o, dataDir });
    },
    async cleanup() {
      await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
  return t;
}
