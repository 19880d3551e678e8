// The console's only way to the server: SigV4-signed calls to rekey's public APIs (STS, KMS JSON 1.1,
// the /v1 admin API), signed here in the browser with aws4fetch (WebCrypto). The server treats them
// exactly like the CLI's: authenticated, authorized, rate-limited and audited by the one pipeline.
//
// Sign-in exchanges the access key for a one-hour STS session (GetSessionToken); only that session is
// kept, in sessionStorage (gone when the tab closes). The long-term secret key is never stored.
import { AwsClient } from 'aws4fetch';

const STORE = 'rekey.console.session';
export const REGION = document.querySelector('meta[name="rekey-region"]')?.getAttribute('content') || 'us-east-1';
const ENDPOINT = `${location.origin}/`;

/** An error answered by rekey, with its wire code (AccessDeniedException, NotFoundException, ...). */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

const listeners = new Set();
/** Called with null when the session ends (sign-out, expiry). */
export function onSessionEnd(fn) { listeners.add(fn); return () => listeners.delete(fn); }

let session = null;
const clients = new Map();

export function currentSession() {
  if (session) return session;
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE) || 'null');
    if (s && (!s.expiration || Date.parse(s.expiration) > Date.now() + 5000)) session = s;
    else sessionStorage.removeItem(STORE);
  } catch { sessionStorage.removeItem(STORE); }
  return session;
}

export function signOut(reason) {
  session = null;
  clients.clear();
  sessionStorage.removeItem(STORE);
  for (const fn of listeners) fn(reason ?? null);
}

function client(creds, service) {
  const key = `${creds.accessKeyId}/${service}`;
  let c = clients.get(key);
  if (!c) {
    // retries 0: a refused or failed call is shown as it is, never repeated behind the user's back
    c = new AwsClient({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}), service, region: REGION, retries: 0 });
    if (creds === session) clients.set(key, c);
  }
  return c;
}

function expired(code) {
  return code === 'ExpiredTokenException' || code === 'ExpiredToken';
}

async function send(creds, service, init, parseError) {
  let res;
  try {
    // allHeaders: Content-Type is signed too (rekey, like AWS, requires it for AWS JSON 1.1); only the
    // headers set here are signed, never the ones the browser adds
    res = await client(creds, service).fetch(init.url, { ...init, aws: { allHeaders: true } });
  } catch (e) {
    throw new ApiError('NetworkError', `The rekey server could not be reached (${e?.message || e}).`, 0);
  }
  const text = await res.text();
  if (res.ok) return text;
  const err = parseError(text, res.status);
  if (creds === session && expired(err.code)) signOut('Your session expired: sign in again.');
  throw err;
}

const xmlText = (doc, tag) => doc.getElementsByTagName(tag)[0]?.textContent ?? undefined;

/** STS (Query protocol, XML). */
async function sts(creds, action, params = {}) {
  const form = new URLSearchParams({ Action: action, Version: '2011-06-15' });
  for (const [k, v] of Object.entries(params)) if (v) form.set(k, v);
  const text = await send(creds, 'sts', {
    url: ENDPOINT, method: 'POST', body: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  }, (t, status) => {
    const doc = new DOMParser().parseFromString(t, 'application/xml');
    return new ApiError(xmlText(doc, 'Code') || `HTTP ${status}`, xmlText(doc, 'Message'), status);
  });
  return new DOMParser().parseFromString(text, 'application/xml');
}

/** Signs in: the access key buys a one-hour STS session; session credentials are used as given. */
export async function signIn({ accessKeyId, secretAccessKey, sessionToken, mfaSerial, mfaCode }) {
  // WebCrypto, which signs, exists only in a secure context (HTTPS, or http://127.0.0.1 / localhost)
  if (!globalThis.isSecureContext || !globalThis.crypto?.subtle) {
    throw new ApiError('InsecureContext', 'This browser cannot sign requests on this page: open the console over HTTPS (or on http://127.0.0.1 / http://localhost).', 0);
  }
  let creds;
  if (sessionToken) {
    creds = { accessKeyId, secretAccessKey, sessionToken, expiration: null };
  } else {
    const doc = await sts({ accessKeyId, secretAccessKey }, 'GetSessionToken', { DurationSeconds: '3600', SerialNumber: mfaSerial, TokenCode: mfaCode });
    creds = {
      accessKeyId: xmlText(doc, 'AccessKeyId'), secretAccessKey: xmlText(doc, 'SecretAccessKey'),
      sessionToken: xmlText(doc, 'SessionToken'), expiration: xmlText(doc, 'Expiration') ?? null,
    };
  }
  const who = await sts(creds, 'GetCallerIdentity');
  const s = { ...creds, arn: xmlText(who, 'Arn'), account: xmlText(who, 'Account') };
  sessionStorage.setItem(STORE, JSON.stringify(s));
  session = s;
  return s;
}

function need() {
  const s = currentSession();
  if (!s) throw new ApiError('NotSignedIn', 'Sign in first.', 401);
  return s;
}

/** One AWS JSON 1.1 call (X-Amz-Target <prefix>.<operation>), signed for `service`. */
async function awsJson(service, targetPrefix, operation, input) {
  const text = await send(need(), service, {
    url: ENDPOINT, method: 'POST', body: JSON.stringify(input),
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${targetPrefix}.${operation}` },
  }, jsonError);
  return text ? JSON.parse(text) : {};
}

/** One KMS call (TrentService.<operation>). */
export const kms = (operation, input = {}) => awsJson('kms', 'TrentService', operation, input);

/** One Secrets Manager call (secretsmanager.<operation>). The console never asks for a secret's value. */
export const secrets = (operation, input = {}) => awsJson('secretsmanager', 'secretsmanager', operation, input);

/**
 * One Amazon RDS Query API call (form in, XML out), signed for "rds". Returns the <ActionResult> element.
 * Members named in `lists` (e.g. "member.N" flattening) are sent as given.
 */
export async function rds(action, params = {}) {
  const form = new URLSearchParams({ Action: action, Version: '2014-10-31' });
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') form.set(k, String(v));
  const text = await send(need(), 'rds', {
    url: ENDPOINT, method: 'POST', body: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  }, (t, status) => {
    const doc = new DOMParser().parseFromString(t, 'application/xml');
    return new ApiError(xmlText(doc, 'Code') || `HTTP ${status}`, xmlText(doc, 'Message'), status);
  });
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  return doc.getElementsByTagName(`${action}Result`)[0] ?? doc.documentElement;
}

function jsonError(text, status) {
  let b = {};
  try { b = JSON.parse(text); } catch { /* not JSON */ }
  const code = String(b.__type ?? b.error ?? `HTTP ${status}`).split('#').pop();
  return new ApiError(code, b.message ?? b.Message ?? text.slice(0, 200), status);
}

/** One admin call under /v1 (JSON; credential scope "iam" unless the route says otherwise). */
export async function admin(method, path, query = {}, { body, service = 'iam' } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  const text = await send(need(), service, {
    url: `${location.origin}${path}${qs ? `?${qs}` : ''}`, method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  }, jsonError);
  return text ? JSON.parse(text) : {};
}

/** KMS list operations: follow NextMarker up to `max` items. */
export async function kmsAll(operation, input, member, max = 1000) {
  const out = [];
  let marker;
  do {
    const page = await kms(operation, { ...input, ...(marker ? { Marker: marker } : {}) });
    out.push(...(page[member] ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker && out.length < max);
  return out;
}
