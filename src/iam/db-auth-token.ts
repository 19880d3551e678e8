// RDS IAM database authentication tokens, as `@aws-sdk/rds-signer` `Signer.getAuthToken()` makes
// them: a SigV4 presigned GET of `/` on the database endpoint, service `rds-db`, valid 900 s:
//
//   <hostname>:<port>/?Action=connect&DBUser=<user>&X-Amz-Algorithm=AWS4-HMAC-SHA256
//     &X-Amz-Credential=<key id>/<date>/<region>/rds-db/aws4_request&X-Amz-Date=<date>
//     &X-Amz-Expires=900[&X-Amz-Security-Token=<token>]&X-Amz-SignedHeaders=host&X-Amz-Signature=<hex>
//
// The signer signs method GET, path "/", the query above without X-Amz-Signature, the single
// header `host: <hostname>:<port>` and the SHA-256 of an empty body (smithy signature-v4
// `presign()`; formatUrl() then drops the "https://"). Reference: Amazon RDS User Guide, "IAM
// database authentication" ("An authentication token ... has a lifetime of 15 minutes") and
// "Creating and using an IAM policy for IAM database access" (the rds-db:connect resource).
//
// This module knows the token format only; IamService.authenticateDbToken() authenticates the
// signer (Authenticator.authenticatePresigned) and authorizes rds-db:connect.
import { AccessDeniedException, IncompleteSignatureException, needs } from '../errors.ts';
import { queryParams, type SignedRequest } from './sigv4.ts';

/** RDS: "Each token has a lifetime of 15 minutes." Longer X-Amz-Expires values are refused. */
export const DB_TOKEN_MAX_EXPIRES_S = 900;
/** A token with a session token is well under 2 KiB; anything past this is not a token. */
export const DB_TOKEN_MAX_LENGTH = 8192;
export const DB_CONNECT_ACTION = 'rds-db:connect';

/** What the proxy knows when a client presents a token as its password. */
export interface DbAuthTokenInput {
  /** The password the client sent. Never logged, never put in an error message. */
  token: string;
  /** The user name the client connects as (the startup message's `user`). */
  dbUser: string;
  /**
   * The endpoints this proxy answers to, each `<hostname>:<port>` as clients pass them to the
   * signer (`new Signer({ hostname, port })`). A token signed for any other endpoint is refused.
   * Hostnames compare without regard to case.
   */
  expectedHosts: readonly string[];
  /** The proxy target's resource id (RDS's DbiResourceId, e.g. `db-REKEYPROXY1`). */
  resourceId: string;
  /** The client's address, for aws:SourceIp conditions. */
  sourceIp?: string;
  /** Whether the client connection is TLS, for aws:SecureTransport conditions (the proxy accepts tokens over TLS only). */
  secureTransport?: boolean;
}

/** Whether a password is shaped like an IAM auth token (so the proxy can choose IAM over password authentication). */
export function isDbAuthToken(password: string): boolean {
  return password.length <= DB_TOKEN_MAX_LENGTH && /^[^/?&\s]+\/\?/.test(password) && password.includes('X-Amz-Signature=');
}

/**
 * The rds-db:connect resource: `arn:<partition>:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<db user>`
 * (RDS User Guide, "Creating and using an IAM policy for IAM database access").
 */
export function dbUserArn(o: { partition: string; region: string; accountId: string; resourceId: string; dbUser: string }): string {
  return `arn:${o.partition}:rds-db:${o.region}:${o.accountId}:dbuser:${o.resourceId}/${o.dbUser}`;
}

const printable = (s: string) => s.slice(0, 128).replace(/[\x00-\x1f\x7f]/g, '?');
const notAToken = (why: string) => new IncompleteSignatureException(`The password is not a valid IAM authentication token: ${why}.`);

/**
 * Checks the parts of a token that need no secret and turns it into the presigned request the
 * signer signed. Throws IncompleteSignatureException for something that is not a token, and
 * AccessDeniedException for a token made for another user or endpoint. Messages may name the
 * user and host the token was made for; never the signature, credential or session token.
 */
export function dbTokenRequest(input: DbAuthTokenInput): SignedRequest {
  // precondition: the proxy configures at least one endpoint and a resource id
  needs(input.expectedHosts.length > 0, 'authenticateDbToken: expectedHosts is empty');
  needs(/^[A-Za-z0-9-]{1,255}$/.test(input.resourceId), 'authenticateDbToken: resourceId must be letters, digits and hyphens');
  const t = input.token;
  if (t.length > DB_TOKEN_MAX_LENGTH) throw notAToken(`longer than ${DB_TOKEN_MAX_LENGTH} characters`);
  const slash = t.indexOf('/');
  if (slash <= 0 || t[slash + 1] !== '?') throw notAToken("expected '<hostname>:<port>/?Action=connect&DBUser=...'");
  const host = t.slice(0, slash);
  const query = t.slice(slash + 2);
  if (!/^[A-Za-z0-9._~%:[\]-]{1,300}$/.test(host)) throw notAToken('the host part is malformed');
  const q = queryParams(query);
  if (q.get('Action') !== 'connect') throw notAToken("Action must be 'connect'");
  const dbUser = q.get('DBUser');
  if (!dbUser) throw notAToken('DBUser is missing or repeated');
  if (dbUser !== input.dbUser) throw new AccessDeniedException(`The IAM authentication token was made for DBUser '${printable(dbUser)}', not for '${printable(input.dbUser)}'.`);
  const h = host.toLowerCase();
  if (!input.expectedHosts.some((e) => e.toLowerCase() === h)) {
    throw new AccessDeniedException(`The IAM authentication token was made for host '${host}', which is not an endpoint of this proxy.`);
  }
  return { method: 'GET', path: '/', query, headers: { host }, body: new Uint8Array() };
}
