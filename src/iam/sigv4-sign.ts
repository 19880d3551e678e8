// SigV4 signing for rekey's own clients (the `rekey iam` CLI) and tests. The same canonical
// request code as the verifier, so the two cannot drift; tests cross-check it against the AWS
// SDK's signer and the official vectors.
import { sha256, hmacSha256 } from '../crypto/index.ts';
import {
  ALGORITHM, canonicalRequest, credentialScope, formatAmzDate, signingKey, stringToSign,
} from './sigv4-canonical.ts';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface RequestToSign {
  method: string;
  /** Host header value (host[:port]). */
  host: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/**
 * Returns the headers to send (lower-case names): the given ones plus host, x-amz-date,
 * x-amz-content-sha256, x-amz-security-token (temporary credentials) and authorization.
 * Every header present is signed.
 */
export function signRequest(
  req: RequestToSign,
  creds: SigningCredentials,
  scope: { region: string; service: string; now?: Date },
): Record<string, string> {
  const body = typeof req.body === 'string' ? Buffer.from(req.body) : (req.body ?? new Uint8Array());
  const amzDate = formatAmzDate((scope.now ?? new Date()).getTime());
  const payloadHash = sha256(body).toString('hex');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] = req.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const signed = Object.keys(headers).sort();
  const canonical = canonicalRequest({ method: req.method, path: req.path, query: req.query ?? '', headers, signedHeaders: signed, payloadHash })!;
  const date = amzDate.slice(0, 8);
  const credScope = credentialScope(date, scope.region, scope.service);
  const key = signingKey(creds.accessKeyId, creds.secretAccessKey, date, scope.region, scope.service);
  const signature = hmacSha256(key, stringToSign(amzDate, credScope, canonical)).toString('hex');
  headers['authorization'] = `${ALGORITHM} Credential=${creds.accessKeyId}/${credScope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return headers;
}
