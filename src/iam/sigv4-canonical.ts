// The parts of AWS Signature Version 4 that signer and verifier share: canonical request, string
// to sign and signing key. Reference: AWS IAM User Guide, "Create a signed AWS API request", and
// the AWS SDKs' signature-v4 package (getCanonicalHeaders, getCanonicalQuery, getCanonicalPath).
import { hmacSha256, sha256Hex } from '../crypto/index.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';

/** Header values as received: one string, or one string per occurrence of a repeated header. */
export type HeaderValue = string | readonly string[] | undefined;
export type Headers = Readonly<Record<string, HeaderValue>>;

/**
 * Builds a lower-cased header map from Node's `rawHeaders` (name, value, name, value, ...), keeping
 * each occurrence of a repeated header separately. Node's `req.headers` joins repeats with ", ",
 * which is not SigV4's "," join, so a verifier must start from the raw list.
 */
export function headersFromRaw(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev as string, value];
  }
  return out;
}

/** First value of a header (for single-valued headers such as X-Amz-Date). */
export function headerValue(h: Headers, name: string): string | undefined {
  const v = h[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

/**
 * AWS: "To create the canonical headers list ... trim any leading or trailing spaces, convert
 * sequential spaces to a single space" and, for a header that appears more than once, "combine
 * the values ... separated by commas" (test-suite case get-header-key-duplicate).
 */
function canonicalHeaderValue(v: string | readonly string[]): string {
  if (typeof v === 'string') return trimHeaderValue(v);
  let out = '';
  for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + trimHeaderValue(v[i]!);
  return out;
}

/** Whitespace other than a single space, or two spaces in a row: what the collapse would change. */
const COLLAPSIBLE = /[^\S ]| {2}/;

function trimHeaderValue(s: string): string {
  const t = s.trim();
  // Most values (dates, hashes, content types, the host) have nothing to collapse: no regex replace.
  return COLLAPSIBLE.test(t) ? t.replace(/\s+/g, ' ') : t;
}

export function canonicalHeaders(h: Headers, signed: readonly string[]): string | undefined {
  let out = '';
  for (const name of signed) {
    const v = h[name];
    if (v === undefined) return undefined;
    out += `${name}:${canonicalHeaderValue(v)}\n`;
  }
  return out;
}

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - . _ ~ (AWS "URI-encode each byte"). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** A query-string name or value decoded as for signing ('+' is a space); malformed escapes stay as sent. */
export function decodeQueryComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/**
 * AWS: "Sort the parameter names by character code point in ascending order. Parameters with
 * duplicate names should be sorted by value." Each name and value is URI-encoded; a parameter
 * without '=' has an empty value.
 */
export function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs: [string, string][] = [];
  for (const p of query.split('&')) {
    if (!p) continue;
    const i = p.indexOf('=');
    const k = uriEncode(decodeQueryComponent(i < 0 ? p : p.slice(0, i)));
    if (k === 'X-Amz-Signature') continue;
    pairs.push([k, uriEncode(decodeQueryComponent(i < 0 ? '' : p.slice(i + 1)))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * AWS: "Normalize URI paths according to RFC 3986. Remove redundant and relative path components.
 * Each path segment must be URI-encoded twice (except for Amazon S3 which only gets URI-encoded
 * once)." The path given is the one on the wire (already encoded once by the client), so it is
 * normalized and encoded once more here; empty segments are dropped as the SDKs do.
 */
export function canonicalPath(path: string): string {
  if (path === '/') return '/'; // every AWS JSON and Query API request
  const segs: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segs.join('/')}${segs.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized).replace(/%2F/g, '/') || '/';
}

export interface CanonicalInput {
  method: string;
  path: string;
  query: string;
  headers: Headers;
  signedHeaders: readonly string[];
  payloadHash: string;
}

/** The canonical request, or undefined when a signed header is missing from the request. */
export function canonicalRequest(r: CanonicalInput): string | undefined {
  const ch = canonicalHeaders(r.headers, r.signedHeaders);
  if (ch === undefined) return undefined;
  return `${r.method.toUpperCase()}\n${canonicalPath(r.path)}\n${canonicalQuery(r.query)}\n${ch}\n${r.signedHeaders.join(';')}\n${r.payloadHash}`;
}

export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

// Signing keys are valid for one day, region and service: cache them (AWS SDKs do the same).
// Keyed by access key id + scope; the secret is kept beside the key so a changed secret for the
// same id (a replaced bootstrap key) misses the cache instead of using a stale key.
const signingKeys = new Map<string, { secret: string; key: Buffer }>();
const MAX_CACHED_KEYS = 4096;

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function signingKey(accessKeyId: string, secret: string, date: string, region: string, service: string): Buffer {
  const id = `${accessKeyId}/${date}/${region}/${service}`;
  const hit = signingKeys.get(id);
  if (hit && hit.secret === secret) return hit.key;
  const key = hmacSha256(hmacSha256(hmacSha256(hmacSha256('AWS4' + secret, date), region), service), 'aws4_request');
  if (signingKeys.size >= MAX_CACHED_KEYS) signingKeys.clear();
  signingKeys.set(id, { secret, key });
  return key;
}

/** X-Amz-Date (ISO 8601 basic, UTC) to epoch milliseconds; NaN when malformed. */
export function amzDateToMs(d: string): number {
  // YYYYMMDD'T'HHMMSS'Z', read digit by digit (no regex match object per request)
  if (d.length !== 16 || d.charCodeAt(8) !== 0x54 /* T */ || d.charCodeAt(15) !== 0x5a /* Z */) return NaN;
  return Date.UTC(digits(d, 0, 4), digits(d, 4, 6) - 1, digits(d, 6, 8), digits(d, 9, 11), digits(d, 11, 13), digits(d, 13, 15));
}

/** The decimal number in d[from, to), NaN unless all ASCII digits. */
function digits(d: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = d.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
