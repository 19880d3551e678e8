// What a client connection needs from its target (ProxyService implements it), its states, and the
// message types the data path looks at. Split from client.ts to keep that file readable.
import type { SecureContext } from 'node:tls';
import type { ScramKeys } from '../crypto/scram.ts';
import type { ClientConn } from './client.ts';
import type { ProxyTargetConfig } from './config.ts';
import type { Cutover, Pool } from './pool.ts';
import type { IamTokenVerifier } from './ports.ts';
import { B, F } from './protocol.ts';

export type ClientState = 'startup' | 'auth-initial' | 'auth-final' | 'auth-password' | 'login' | 'ready' | 'closed';
export type ServerPhase = 'idle' | 'query' | 'copy-in' | 'copy-out';

/** Client-auth material for one user: SCRAM keys of AWSCURRENT (and AWSPREVIOUS in its grace period), one salt. */
export interface LoginMaterial {
  secretId: string;
  salt: Buffer;
  iterations: number;
  candidates: ScramKeys[];
}

/** One client authentication, for the audit trail (never a password or token). */
export interface AuthEventFacts {
  user: string;
  database: string;
  remote: string;
  ok: boolean;
  method: 'scram' | 'password' | 'iam' | 'none';
  tls: boolean;
  principalArn?: string;
  reason?: string;
  /** `application`: a decoupled target's application login; `database`: a database secret's user (set by the target; not named `credentials`: the audit log drops such names). */
  login?: 'application' | 'database';
}

export interface ClientContext {
  readonly cfg: ProxyTargetConfig;
  readonly cutover: Cutover;
  readonly tls: SecureContext | undefined;
  /** The port the target listens on (IAM hosts without a port use it). */
  readonly listenPort: number;
  /** IAM token verification (targets with auth iam / password+iam). */
  readonly iam: IamTokenVerifier | undefined;
  /** Decoupled application credentials (cfg.applications): login names are the applications', not the database secrets'. */
  readonly decoupled: boolean;
  /** Undefined for an unknown user (authentication then fails like a wrong password). */
  loginMaterial(user: string): Promise<LoginMaterial | undefined>;
  /**
   * The secret an IAM login as `user` goes through: one whose AWSCURRENT or AWSPREVIOUS names the
   * user, whatever the password grace (an IAM client presents no password, so both users of an
   * alternating pair stay valid logins; the upstream login uses AWSCURRENT).
   */
  iamSecretFor(user: string): Promise<string | undefined>;
  /** Salt for the mock exchange of an unknown user (stable per user, so probing learns nothing). */
  mockSalt(user: string): Buffer;
  /** Random keys an unknown user's proof is checked against (same work as a known user, never matches). */
  readonly mockKeys: ScramKeys;
  pool(database: string, user: string, secretId: string): Pool;
  registerCancel(c: ClientConn): { pid: number; secret: number };
  unregisterCancel(pid: number): void;
  cancel(pid: number, secret: number): void;
  authEvent(e: AuthEventFacts): void;
  closed(c: ClientConn): void;
  /** Unexpected errors (details for the operator's log; the client only sees 'internal error'). */
  log?(e: unknown): void;
}

export const CLIENT_CAPTURE = (() => {
  const t = new Uint8Array(256);
  for (const c of [F.Query, F.Sync, F.Parse, F.Terminate, F.FunctionCall, F.Bind, F.Describe, F.Execute, F.Close, F.Flush]) t[c] = 1;
  return t;
})();
export const SERVER_CAPTURE = (() => {
  const t = new Uint8Array(256);
  for (const c of [B.ReadyForQuery, B.ParameterStatus, 'G'.charCodeAt(0), 'H'.charCodeAt(0), 'W'.charCodeAt(0)]) t[c] = 1;
  return t;
})();
export const RESERVED_PARAMS = new Set(['user', 'database']);
export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.]{0,62}$/;
export const MAX_AUTH_MESSAGE = 65535; // PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH
