// AWS Signature Version 4 verification: header-signed requests (the AWS-protocol endpoints) and
// presigned, query-string-signed ones (RDS IAM database authentication tokens).
// Reference: AWS IAM User Guide, "Create a signed AWS API request" (canonical request, string to
// sign, signing key) and "Elements of an AWS API request signature"; the official SigV4 test suite
// passes (src/iam/sigv4.test.ts, vectors in test/sigv4-vectors/).
import { constantTimeEqual, hmacSha256Hex, sha256Hex } from '../crypto/index.ts';
import {
  MissingAuthenticationTokenException, IncompleteSignatureException, InvalidSignatureException,
  UnrecognizedClientException,
} from '../errors.ts';
import { ExpiredTokenException, EXPIRED_TOKEN_MESSAGE, INVALID_TOKEN_MESSAGE } from './errors.ts';
import {
  ALGORITHM, amzDateToMs, canonicalRequest, credentialScope, decodeQueryComponent, formatAmzDate, headerValue,
  signingKey, stringToSign, type Headers,
} from './sigv4-canonical.ts';

export { headersFromRaw } from './sigv4-canonical.ts';

export interface SignedRequest {
  method: string;
  /** Path as sent on the wire (already percent-encoded by the client). */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /**
   * Lower-cased header names; a repeated header as an array of its values in order (build it with
   * `headersFromRaw(req.rawHeaders)`: Node's `req.headers` joins repeats with ", ").
   */
  headers: Headers;
  body: Uint8Array;
}

export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: the request must carry this X-Amz-Security-Token. */
  sessionToken?: string;
  /** Temporary credentials: epoch ms after which ExpiredTokenException. */
  expiresAt?: number;
}

export interface VerifyOptions {
  /** The region requests must be scoped to (or one of several, e.g. STS's us-east-1 alias). */
  region: string | readonly string[];
  service: string;
  now: Date;
  /** Allowed clock skew in milliseconds (AWS: 5 minutes). */
  skewMs: number;
  lookup: (accessKeyId: string) => Credential | undefined;
}

export interface AsyncVerifyOptions extends Omit<VerifyOptions, 'lookup'> {
  lookup: (accessKeyId: string) => Promise<Credential | undefined> | Credential | undefined;
}

export interface PresignedVerifyOptions extends AsyncVerifyOptions {
  /** Longest X-Amz-Expires accepted, in seconds (AWS: 604800, a week; RDS auth tokens: 900). */
  maxExpiresS: number;
}

const SIG_MISMATCH = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export interface ParsedAuth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/**
 * The Credential value `<access key id>/<date>/<region>/<service>/aws4_request`, from the
 * Authorization header or the X-Amz-Credential query parameter.
 */
function parseCredential(value: string, signedHeaders: string, signature: string): ParsedAuth {
  // exactly four '/': <id>/<date>/<region>/<service>/aws4_request, the id not empty
  const a = value.indexOf('/');
  const b = a < 0 ? -1 : value.indexOf('/', a + 1);
  const c = b < 0 ? -1 : value.indexOf('/', b + 1);
  const d = c < 0 ? -1 : value.indexOf('/', c + 1);
  if (a <= 0 || d < 0 || value.length - d - 1 !== 12 || !value.endsWith('aws4_request')) {
    throw new IncompleteSignatureException("Credential should be scoped to correct service: 'aws4_request'.");
  }
  return {
    accessKeyId: value.slice(0, a), date: value.slice(a + 1, b), region: value.slice(b + 1, c), service: value.slice(c + 1, d),
    signedHeaders: signedHeaders.split(';'), signature,
  };
}

/**
 * The Authorization header `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`:
 * comma-separated name=value parameters, each trimmed; a repeated parameter's last value counts;
 * parameters without a name or '=' are ignored. Scanned in place: no Map, no array of parts.
 */
export function parseAuthorization(value: string | undefined): ParsedAuth {
  if (value === undefined || value === '') throw new MissingAuthenticationTokenException('Missing Authentication Token');
  if (!value.startsWith(ALGORITHM + ' ')) {
    throw new IncompleteSignatureException(`Unsupported authorization type; only ${ALGORITHM} is accepted`);
  }
  let credential = '';
  let signedHeaders = '';
  let signature = '';
  for (let pos = ALGORITHM.length + 1; pos <= value.length;) {
    let end = value.indexOf(',', pos);
    if (end < 0) end = value.length;
    const eq = value.indexOf('=', pos);
    if (eq > pos && eq < end) {
      const name = value.slice(pos, eq).trim();
      if (name === 'Credential') credential = value.slice(eq + 1, end).trim();
      else if (name === 'SignedHeaders') signedHeaders = value.slice(eq + 1, end).trim();
      else if (name === 'Signature') signature = value.slice(eq + 1, end).trim();
    }
    pos = end + 1;
  }
  if (credential === '' || signature === '' || signedHeaders === '') {
    // AWS: "Authorization header requires 'Credential' parameter. ... Authorization=AWS4-HMAC-SHA256 ..."
    let message = '';
    if (credential === '') message += "Authorization header requires 'Credential' parameter. ";
    if (signature === '') message += "Authorization header requires 'Signature' parameter. ";
    if (signedHeaders === '') message += "Authorization header requires 'SignedHeaders' parameter. ";
    throw new IncompleteSignatureException(`${message}Authorization=${value.split(' ')[0]}`);
  }
  return parseCredential(credential, signedHeaders, signature);
}

/**
 * A query string's parameters, decoded exactly as canonicalQuery() decodes them for signing (so a
 * value checked here is the value that was signed). A repeated name maps to undefined: callers
 * treat it as malformed rather than guess which occurrence counts.
 */
export function queryParams(query: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const p of query.split('&')) {
    if (!p) continue;
    const i = p.indexOf('=');
    const k = decodeQueryComponent(i < 0 ? p : p.slice(0, i));
    out.set(k, out.has(k) ? undefined : decodeQueryComponent(i < 0 ? '' : p.slice(i + 1)));
  }
  return out;
}

export interface ParsedQueryAuth {
  auth: ParsedAuth;
  amzDate: string;
  /** X-Amz-Expires in seconds. */
  expiresS: number;
  /** X-Amz-Security-Token, when present. */
  token: string | undefined;
}

const QUERY_AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'] as const;

/** Query-string (presigned) authentication parameters. AWS IAM User Guide, "Authentication methods": query parameters. */
export function parseQueryAuth(query: string, maxExpiresS: number): ParsedQueryAuth {
  const q = queryParams(query);
  // AWS: "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', ..."
  if (QUERY_AUTH_PARAMS.some((k) => !q.get(k)) || (q.has('X-Amz-Security-Token') && q.get('X-Amz-Security-Token') === undefined)) {
    throw new IncompleteSignatureException(`AWS query-string parameters must include ${QUERY_AUTH_PARAMS.map((k) => `'${k}'`).join(', ')}. Re-examine the query-string parameters.`);
  }
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw new IncompleteSignatureException(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const expires = q.get('X-Amz-Expires')!;
  const expiresS = /^[0-9]{1,7}$/.test(expires) ? Number(expires) : NaN;
  if (!(expiresS >= 1 && expiresS <= maxExpiresS)) throw new InvalidSignatureException(`X-Amz-Expires must be between 1 and ${maxExpiresS} seconds.`);
  return {
    auth: parseCredential(q.get('X-Amz-Credential')!, q.get('X-Amz-SignedHeaders')!, q.get('X-Amz-Signature')!),
    amzDate: q.get('X-Amz-Date')!,
    expiresS,
    token: q.get('X-Amz-Security-Token'),
  };
}

/** Access key id named in the Authorization header, or undefined (for pre-loading caches). */
export function accessKeyIdOf(headers: Headers): string | undefined {
  const m = /Credential=([A-Za-z0-9]{1,128})\//.exec(headerValue(headers, 'authorization') ?? '');
  return m ? m[1] : undefined;
}

/** The checks both forms share: a well-formed date, host signed, the credential scope (date, region, service). Returns X-Amz-Date in ms. */
function checkScope(auth: ParsedAuth, amzDate: string, opts: Omit<VerifyOptions, 'lookup'>, missingDate: string): number {
  const t = amzDateToMs(amzDate);
  if (Number.isNaN(t)) throw new IncompleteSignatureException(missingDate);
  if (!auth.signedHeaders.includes('host')) throw new InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  if (auth.date !== amzDate.slice(0, 8)) throw new InvalidSignatureException(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  const regions = opts.region;
  if (typeof regions === 'string' ? auth.region !== regions : !regions.includes(auth.region)) {
    throw new InvalidSignatureException(`Credential should be scoped to a valid region. '${auth.region}' is not '${typeof regions === 'string' ? regions : regions[0]}'.`);
  }
  if (auth.service !== opts.service) throw new InvalidSignatureException(`Credential should be scoped to correct service: '${opts.service}'.`);
  return t;
}

/**
 * An AWS JSON request names its operation in X-Amz-Target and its wire format in Content-Type;
 * the body alone does not say which operation it is for. If neither were signed, a captured
 * `{KeyId, Plaintext}` Encrypt could be replayed as DisableKey, or a GetSecretValue as
 * DeleteSecret, with the same signature. So a request that carries X-Amz-Target must sign both.
 * The AWS SDKs and the AWS CLI sign every header they send (botocore's SigV4Auth skips only
 * user-agent, expect and x-amzn-trace-id), so they are unaffected.
 */
function checkOperationSigned(headers: Headers, auth: ParsedAuth): void {
  if (headers['x-amz-target'] === undefined) return;
  if (!auth.signedHeaders.includes('x-amz-target')) throw new InvalidSignatureException("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  if (!auth.signedHeaders.includes('content-type')) throw new InvalidSignatureException("'Content-Type' must be a 'SignedHeader' in the AWS Authorization.");
}

/** AWS: "Signature expired: <X-Amz-Date> is now earlier than <now - window> (<now> - <window> min.)" */
function expired(amzDate: string, now: number, windowMs: number): InstanceType<typeof InvalidSignatureException> {
  return new InvalidSignatureException(`Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - windowMs)} (${formatAmzDate(now)} - ${windowMs / 60000} min.)`);
}

function notYetCurrent(amzDate: string, now: number, skewMs: number): InstanceType<typeof InvalidSignatureException> {
  return new InvalidSignatureException(`Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skewMs)} (${formatAmzDate(now)} + ${skewMs / 60000} min.)`);
}

/** A header-signed request checked as far as it can be without the secret (checkSigV4Request). */
export interface CheckedRequest {
  auth: ParsedAuth;
  amzDate: string;
  /** The X-Amz-Security-Token header, when present. */
  token: string | undefined;
}

/**
 * The first half of verifySigV4Async, for a caller that looks the credential up itself: everything
 * in a header-signed request that does not need the secret (Authorization, date, skew, scope, the
 * operation headers signed). Throws the same errors. Finish with checkSigV4Signature.
 */
export function checkSigV4Request(req: SignedRequest, opts: Omit<VerifyOptions, 'lookup'>): CheckedRequest {
  const { auth, amzDate } = checkRequest(req, opts);
  return { auth, amzDate, token: headerValue(req.headers, 'x-amz-security-token') };
}

/** The second half: the credential of `checked.auth.accessKeyId` (undefined: unknown or inactive) against the signature. */
export function checkSigV4Signature(req: SignedRequest, checked: CheckedRequest, cred: Credential | undefined, now: Date): void {
  if (!cred) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
  checkSignature(req, checked.auth, checked.amzDate, checked.token, cred, now);
}

/** Checks everything in a header-signed request that does not need the secret: date, skew, scope. */
function checkRequest(req: SignedRequest, opts: Omit<VerifyOptions, 'lookup'>): { auth: ParsedAuth; amzDate: string } {
  const auth = parseAuthorization(headerValue(req.headers, 'authorization'));
  const amzDate = headerValue(req.headers, 'x-amz-date') ?? '';
  const t = checkScope(auth, amzDate, opts, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  checkOperationSigned(req.headers, auth);
  // AWS: a request whose X-Amz-Date is more than 5 minutes from the server's time is rejected.
  const now = opts.now.getTime();
  if (t < now - opts.skewMs) throw expired(amzDate, now, opts.skewMs);
  if (t > now + opts.skewMs) throw notYetCurrent(amzDate, now, opts.skewMs);
  return { auth, amzDate };
}

/**
 * The same for a presigned request: valid from X-Amz-Date (less the allowed skew, for a client
 * whose clock runs ahead) until X-Amz-Date + X-Amz-Expires, which the skew does not extend.
 */
function checkPresigned(req: SignedRequest, opts: Omit<PresignedVerifyOptions, 'lookup'>): ParsedQueryAuth {
  const p = parseQueryAuth(req.query, opts.maxExpiresS);
  const t = checkScope(p.auth, p.amzDate, opts, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  const now = opts.now.getTime();
  if (now >= t + p.expiresS * 1000) throw expired(p.amzDate, now, p.expiresS * 1000);
  if (t > now + opts.skewMs) throw notYetCurrent(p.amzDate, now, opts.skewMs);
  return p;
}

/** `token`: the X-Amz-Security-Token the request carries (header or query parameter). */
function checkSignature(req: SignedRequest, auth: ParsedAuth, amzDate: string, token: string | undefined, cred: Credential, now: Date): void {
  // Temporary credentials are only valid together with their session token; a token sent with
  // long-term credentials is an error too (AWS answers both with "security token ... invalid").
  if (cred.sessionToken !== undefined || token !== undefined) {
    if (cred.sessionToken === undefined || token === undefined || !constantTimeEqual(Buffer.from(token), Buffer.from(cred.sessionToken))) {
      throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
    }
  }
  if (cred.expiresAt !== undefined && now.getTime() >= cred.expiresAt) throw new ExpiredTokenException(EXPIRED_TOKEN_MESSAGE);

  // AWS (non-S3 services): the canonical request always carries the hex SHA-256 of the body; an
  // X-Amz-Content-Sha256 header must agree with it (UNSIGNED-PAYLOAD is an S3-only option).
  const bodyHash = sha256Hex(req.body);
  const claimed = headerValue(req.headers, 'x-amz-content-sha256');
  if (claimed !== undefined && claimed !== bodyHash && claimed !== 'UNSIGNED-PAYLOAD') {
    throw new InvalidSignatureException("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const canonical = canonicalRequest({
    method: req.method, path: req.path, query: req.query, headers: req.headers,
    signedHeaders: auth.signedHeaders, payloadHash: bodyHash,
  });
  if (canonical === undefined) throw new InvalidSignatureException(SIG_MISMATCH);
  const scope = credentialScope(auth.date, auth.region, auth.service);
  const key = signingKey(cred.accessKeyId, cred.secretAccessKey, auth.date, auth.region, auth.service);
  const expected = Buffer.from(hmacSha256Hex(key, stringToSign(amzDate, scope, canonical)), 'hex');
  // Compared in constant time; a malformed signature still costs one comparison.
  const given = /^[0-9a-f]{64}$/.test(auth.signature) ? Buffer.from(auth.signature, 'hex') : Buffer.alloc(32);
  if (!constantTimeEqual(expected, given) || given.length !== 32 || auth.signature.length !== 64) throw new InvalidSignatureException(SIG_MISMATCH);
}

/** Verifies the request's SigV4 signature with a synchronous credential lookup; returns the access key id. */
export function verifySigV4(req: SignedRequest, opts: VerifyOptions): string {
  const { auth, amzDate } = checkRequest(req, opts);
  const cred = opts.lookup(auth.accessKeyId);
  if (!cred) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
  checkSignature(req, auth, amzDate, headerValue(req.headers, 'x-amz-security-token'), cred, opts.now);
  return auth.accessKeyId;
}

/** As verifySigV4, with a lookup that may read storage (sessions, access keys). Returns the credential used. */
export async function verifySigV4Async(req: SignedRequest, opts: AsyncVerifyOptions): Promise<{ auth: ParsedAuth; credential: Credential }> {
  const { auth, amzDate } = checkRequest(req, opts);
  const cred = await opts.lookup(auth.accessKeyId);
  if (!cred) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
  checkSignature(req, auth, amzDate, headerValue(req.headers, 'x-amz-security-token'), cred, opts.now);
  return { auth, credential: cred };
}

/**
 * Verifies a presigned request (query-string authentication: X-Amz-Algorithm, X-Amz-Credential,
 * X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Security-Token in the
 * query; the signature is computed over the query without X-Amz-Signature). The same scope,
 * session-token and signature checks as header-signed requests; the time window is X-Amz-Expires.
 */
export async function verifyPresignedSigV4Async(req: SignedRequest, opts: PresignedVerifyOptions): Promise<{ auth: ParsedAuth; credential: Credential }> {
  const { auth, amzDate, token } = checkPresigned(req, opts);
  const cred = await opts.lookup(auth.accessKeyId);
  if (!cred) throw new UnrecognizedClientException(INVALID_TOKEN_MESSAGE);
  checkSignature(req, auth, amzDate, token, cred, opts.now);
  return { auth, credential: cred };
}
