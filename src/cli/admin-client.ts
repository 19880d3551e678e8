// The one client every `rekey` command uses to call a running server's admin API (/v1/...):
// endpoint (--endpoint, env REKEY_ENDPOINT), signing region (--region, env AWS_REGION), CA bundle
// for a rekey-generated CA (--ca-bundle, env AWS_CA_BUNDLE, as the AWS CLI), credentials (env
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), SigV4 signing (credential scope
// "iam", or "kms" for /v1/kms/keys), and error mapping: the server's { error, message } comes back
// as a RemoteError whose name and code are the server's code; missing credentials and an
// unreachable server are each one ConfigurationError saying what to set, the same for every command
// (credentials are checked first: no request leaves without them).

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { ConfigurationError, RekeyError } from '../errors.ts';
import { Option, type Command } from 'commander';
import { type SigningCredentials, signRequest } from '../iam/sigv4-sign.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8370';

/** An error answered by the server, re-raised with its code so `rekey` prints "rekey: <code>: <message>". */
export class RemoteError extends RekeyError {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
  }
}

export interface AdminConnection {
  endpoint: URL;
  region: string;
  /** PEM bundle trusted for HTTPS (rekey's CA); absent: the system's roots. */
  ca?: Buffer;
  /** Absent only when the caller asked for no credentials (requireCredentials: false): requests go unsigned. */
  credentials?: SigningCredentials;
}

export interface ConnectionFlags {
  endpoint?: string | undefined;
  region?: string | undefined;
  caBundle?: string | undefined;
}

/** The connection flags every admin command takes: --endpoint (-e), --region, --ca-bundle. */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('-e, --endpoint <url>', `rekey server URL (env REKEY_ENDPOINT, default ${DEFAULT_ENDPOINT})`))
    .addOption(new Option('--region <region>', 'signing region (env AWS_REGION, default us-east-1)'))
    .addOption(new Option('--ca-bundle <file>', 'CA certificate(s) to trust for HTTPS, e.g. <dataDir>/tls/ca.pem (env AWS_CA_BUNDLE)'));
}

/** The credentials of the AWS_* variables, if both parts are set. */
export function credentialsFromEnv(env: Record<string, string | undefined>): SigningCredentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  const token = env['AWS_SESSION_TOKEN'];
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(token ? { sessionToken: token } : {}) } : undefined;
}

export const NO_CREDENTIALS = 'no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials); the server prints the bootstrap administrator\'s keys at its first start.';

/**
 * Flags first, then the environment, then the defaults; a bad endpoint, an unreadable CA bundle or
 * missing credentials (unless requireCredentials is false) is a ConfigurationError.
 */
export function connection(flags: ConnectionFlags, env: Record<string, string | undefined>, o: { requireCredentials?: boolean } = {}): AdminConnection {
  const raw = flags.endpoint ?? env['REKEY_ENDPOINT'] ?? DEFAULT_ENDPOINT;
  let endpoint: URL;
  try {
    endpoint = new URL(raw);
  } catch {
    throw new ConfigurationError(`invalid endpoint ${JSON.stringify(raw)}: expected a URL such as ${DEFAULT_ENDPOINT}`);
  }
  const caPath = flags.caBundle ?? env['AWS_CA_BUNDLE'];
  let ca: Buffer | undefined;
  if (caPath) {
    try {
      ca = readFileSync(caPath);
    } catch (e) {
      throw new ConfigurationError(`cannot read the CA bundle ${caPath}: ${(e as Error).message}`);
    }
  }
  const credentials = credentialsFromEnv(env);
  if (!credentials && o.requireCredentials !== false) throw new ConfigurationError(NO_CREDENTIALS);
  return {
    endpoint, region: flags.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    ...(ca ? { ca } : {}), ...(credentials ? { credentials } : {}),
  };
}

export interface AdminRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** JSON body; absent: no body and no content-type. */
  body?: object;
  /** SigV4 credential scope service (default "iam"). */
  service?: string;
  timeoutMs?: number;
}

/** What a command passes: its flags (connectionOptions) and the environment; credentials are required. */
export function callAdmin(io: { env: Record<string, string | undefined> }, flags: ConnectionFlags, method: AdminRequest['method'], path: string, body?: Record<string, unknown>, service = 'iam'): Promise<unknown> {
  return adminCall(connection(flags, io.env), { method, path, service, ...(body === undefined ? {} : { body }) });
}

/** One signed admin call; the parsed JSON body ({} for 204). */
export async function adminCall<T>(c: AdminConnection, r: AdminRequest): Promise<T> {
  const url = new URL(r.path, c.endpoint);
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const payload = r.body === undefined ? '' : JSON.stringify(r.body);
  let headers: Record<string, string> = { accept: 'application/json', ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) };
  if (c.credentials) {
    headers = signRequest({ method: r.method, host: url.host, path: url.pathname, query: url.search.slice(1), headers, body: payload }, c.credentials, { region: c.region, service: r.service ?? 'iam' });
  }
  const https = url.protocol === 'https:';
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const rq = (https ? httpsRequest : httpRequest)(url, { method: r.method, headers, timeout: r.timeoutMs ?? 30_000, ...(c.ca ? { ca: c.ca } : {}) }, (resp) => {
      const chunks: Buffer[] = [];
      resp.on('data', (d: Buffer) => chunks.push(d));
      resp.on('end', () => resolve({ status: resp.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      resp.on('error', reject);
    });
    rq.on('timeout', () => rq.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    rq.on('error', (e: Error & { code?: string }) => reject(new ConfigurationError(`cannot reach the rekey server at ${url.origin} (${e.code ?? e.message}); is it running? Set --endpoint or REKEY_ENDPOINT${https ? ', and --ca-bundle for a rekey-generated CA' : ''}.`)));
    rq.end(payload);
  });
  let parsed: unknown;
  try {
    parsed = res.text ? JSON.parse(res.text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.status >= 400) {
    const b = parsed as { error?: unknown; message?: unknown } | undefined;
    throw new RemoteError(typeof b?.error === 'string' ? b.error : 'InternalFailure', res.status, typeof b?.message === 'string' ? b.message : `HTTP ${res.status} from ${url.pathname}`);
  }
  return (parsed ?? {}) as T;
}
