// AWS Signature Version 4 verification for AWS-protocol requests.
// Reference: AWS General Reference, "Create a signed AWS API request" (canonical request,
// string to sign, signing key), as implemented by the AWS SDKs' signature-v4 package.
import { sha256, hmacSha256, constantTimeEqual } from '../crypto/index.ts';
import {
  MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException,
  UnrecognizedClientException,
} from '../errors.ts';

export interface SignedRequest {
  method: string;
  /** Path as sent on the wire (already percent-encoded by the client). */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /** Lower-cased header names; values as received. */
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface VerifyOptions {
  region: string;
  service: string;
  now: Date;
  /** Allowed clock skew in milliseconds (AWS: 5 minutes). */
  skewMs: number;
  lookup: (accessKeyId: string) => Credential | undefined;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SIG_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function header(h: SignedRequest['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function parseAuthorization(value: string | undefined): ParsedAuth {
  if (value === undefined || value === '') throw new MissingAuthenticationTokenException('Missing Authentication Token');
  if (!value.startsWith(ALGORITHM + ' ')) {
    throw new IncompleteSignatureException(`Unsupported authorization type; only ${ALGORITHM} is accepted`);
  }
  const params = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const i = part.indexOf('=');
    if (i > 0) params.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !params.get(k));
  if (missing.length > 0) {
    throw new IncompleteSignatureException(missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ') + ` Authorization=${value.split(' ')[0]}`);
  }
  const cred = params.get('Credential')!.split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request' || !cred[0]) {
    throw new IncompleteSignatureException("Credential should be scoped to correct service: 'aws4_request'.");
  }
  return {
    accessKeyId: cred[0], date: cred[1]!, region: cred[2]!, service: cred[3]!,
    signedHeaders: params.get('SignedHeaders')!.split(';'),
    signature: params.get('Signature')!,
  };
}

/** RFC 3986 encoding as SigV4 requires (unreserved characters kept). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query.split('&').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    return [uriEncode(decodeURIComponent(k.replace(/\+/g, '%20'))), uriEncode(decodeURIComponent(v.replace(/\+/g, '%20')))] as const;
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalPath(path: string): string {
  // Non-S3 services: normalize and encode each segment (the client's encoding is encoded again).
  const segs = path.split('/').map((s) => uriEncode(s));
  return segs.join('/') || '/';
}

const signingKeys = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${sha256(secret).toString('hex')}/${date}/${region}/${service}`;
  let k = signingKeys.get(id);
  if (!k) {
    k = hmacSha256(hmacSha256(hmacSha256(hmacSha256('AWS4' + secret, date), region), service), 'aws4_request');
    if (signingKeys.size > 1000) signingKeys.clear();
    signingKeys.set(id, k);
  }
  return k;
}

function amzDateToMs(d: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function fmt(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Verifies the request's SigV4 signature; returns the access key id on success. */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions): string {
  const auth = parseAuthorization(header(req.headers, 'authorization'));
  const amzDate = header(req.headers, 'x-amz-date') ?? '';
  const t = amzDateToMs(amzDate);
  if (Number.isNaN(t)) throw new IncompleteSignatureException("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (!auth.signedHeaders.includes('host')) throw new InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const cred = opts.lookup(auth.accessKeyId);
  if (!cred) throw new UnrecognizedClientException('The security token included in the request is invalid.');
  if (auth.date !== amzDate.slice(0, 8)) throw new InvalidSignatureException(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  if (auth.region !== opts.region) throw new InvalidSignatureException(`Credential should be scoped to a valid region. '${auth.region}' is not '${opts.region}'.`);
  if (auth.service !== opts.service) throw new InvalidSignatureException(`Credential should be scoped to correct service: '${opts.service}'.`);
  const now = opts.now.getTime();
  if (t < now - opts.skewMs) throw new InvalidSignatureException(`Signature expired: ${amzDate} is now earlier than ${fmt(now - opts.skewMs)} (${fmt(now)} - ${opts.skewMs / 60000} min.)`);
  if (t > now + opts.skewMs) throw new InvalidSignatureException(`Signature not yet current: ${amzDate} is still later than ${fmt(now + opts.skewMs)} (${fmt(now)} + ${opts.skewMs / 60000} min.)`);

  const canonicalHeaders = auth.signedHeaders.map((h) => {
    const v = header(req.headers, h);
    if (v === undefined) throw new InvalidSignatureException(SIG_MISMATCH);
    return `${h}:${v.trim().replace(/\s+/g, ' ')}\n`;
  }).join('');
  const payloadHash = header(req.headers, 'x-amz-content-sha256') ?? sha256(req.body).toString('hex');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && header(req.headers, 'x-amz-content-sha256') !== undefined && payloadHash !== sha256(req.body).toString('hex')) {
    throw new InvalidSignatureException('The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const canonicalRequest = [
    req.method.toUpperCase(), canonicalPath(req.path), canonicalQuery(req.query), canonicalHeaders,
    auth.signedHeaders.join(';'), payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256(canonicalRequest).toString('hex')}`;
  const expected = hmacSha256(signingKey(cred.secretAccessKey, auth.date, auth.region, auth.service), stringToSign);
  const given = Buffer.from(auth.signature, 'hex');
  if (auth.signature.length !== 64 || !constantTimeEqual(expected, given)) throw new InvalidSignatureException(SIG_MISMATCH);
  return auth.accessKeyId;
}
