// Starts a real rekey server in-process on a random port with a fresh data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { loadConfig } from '../../src/config/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import type { RotationStrategy } from '../../src/secrets/strategy.ts';

export const TEST_CREDS = { accessKeyId: 'AKIAREKEYTEST0000001', secretAccessKey: 'test-secret-access-key-0000000000000001' };

export interface TestServer extends RunningServer {
  dataDir: string;
  kmsClient(creds?: { accessKeyId: string; secretAccessKey: string }): KMSClient;
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
}

export async function startTestServer(o: StartOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'rekey-test-'));
  const env = { REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_LOG_LEVEL: 'silent', ...o.env };
  const cfg = loadConfig({ dataDir, port: 0 }, env);
  const s = await startServer(cfg, o.secretStrategies ? { secretStrategies: o.secretStrategies } : {});
  const signer = (creds: typeof TEST_CREDS) => new SignatureV4({ credentials: creds, region: cfg.region, service: 'kms', sha256: Sha256 });
  const t: TestServer = Object.assign(s, {
    dataDir,
    kmsClient(creds = TEST_CREDS) {
      return new KMSClient({ endpoint: s.url, region: cfg.region, credentials: creds, maxAttempts: 1 });
    },
    secretsClient(creds = TEST_CREDS) {
      return new SecretsManagerClient({ endpoint: s.url, region: cfg.region, credentials: creds, maxAttempts: 1 });
    },
    async raw(target: string | undefined, body: string | Buffer, ro: { headers?: Record<string, string>; sign?: boolean; creds?: typeof TEST_CREDS } = {}) {
      const u = new URL(s.url);
      const headers: Record<string, string> = { host: u.host, 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}), ...ro.headers };
      let req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', headers, body });
      if (ro.sign !== false) req = (await signer(ro.creds ?? TEST_CREDS).sign(req)) as HttpRequest;
      const h = { ...req.headers };
      delete h.host;
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
