// One signed request to a running server's admin API (/v1/...), for the thin CLI clients
// (`rekey jobs`, `rekey proxy`). SigV4-signed (credential scope service "iam") when credentials are
// given; server errors come back as the same RekeyError classes.
import { ALL_ERRORS, ConfigurationError, InternalFailure } from '../errors.ts';
import { type SigningCredentials, signRequest } from '../iam/sigv4-sign.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8370';

/** The server's base URL, or a ConfigurationError naming the bad value. */
export function adminBase(endpoint: string): URL {
  try {
    return new URL(endpoint);
  } catch {
    throw new ConfigurationError(`invalid endpoint ${JSON.stringify(endpoint)}: expected a URL such as ${DEFAULT_ENDPOINT}`);
  }
}

export interface AdminRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** JSON body; absent: no body and no content-type. */
  body?: object;
  region: string;
  /** Absent: the request goes unsigned (a server with IAM refuses it). */
  credentials?: SigningCredentials | undefined;
  timeoutMs: number;
}

export async function adminRequest<T>(base: URL, r: AdminRequest): Promise<T> {
  const url = new URL(r.path, base);
  for (const [k, v] of Object.entries(r.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const payload = r.body === undefined ? '' : JSON.stringify(r.body);
  let headers: Record<string, string> = { accept: 'application/json', ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) };
  if (r.credentials) {
    headers = signRequest({ method: r.method, host: url.host, path: url.pathname, query: url.search.slice(1), headers, body: payload }, r.credentials, { region: r.region, service: 'iam' });
    delete headers['host']; // fetch sets it (to the same value)
  }
  let res: Response;
  try {
    res = await fetch(url, { method: r.method, headers, ...(r.body === undefined ? {} : { body: payload }), signal: AbortSignal.timeout(r.timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new ConfigurationError(`cannot reach the rekey server at ${base.origin} (${cause}); is it running? Set --endpoint or REKEY_ENDPOINT.`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const b = parsed as { error?: string; message?: string } | undefined;
    const Err = (b?.error && ALL_ERRORS[b.error]) || InternalFailure;
    throw new Err(b?.message ?? `HTTP ${res.status} from ${url.pathname}`);
  }
  return parsed as T;
}
