// Proxy configuration: one target per listen address. Validated once (validateTargets) and frozen.
import { ConfigurationError } from '../errors.ts';

export type PoolMode = 'session' | 'transaction';
/**
 * Client authentication: `password` (SCRAM-SHA-256 against the mapped secret), `iam` (an
 * `@aws-sdk/rds-signer` token as a cleartext password, TLS only), `password+iam` (TLS clients are
 * asked for a cleartext password that may be either; plaintext clients get SCRAM).
 */
export type AuthMode = 'password' | 'iam' | 'password+iam';

export interface Endpoint {
  host: string;
  port: number;
}

export type UpstreamTlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';
export const UPSTREAM_TLS_MODES: readonly UpstreamTlsMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

export type UpstreamConfig = Endpoint & {
  /** libpq's sslmode meanings (docs/PROXY.md, "Upstream TLS"); never falls back to plaintext. Default disable. */
  tls?: UpstreamTlsMode;
  /** PEM bundle of the CAs the server's chain must lead to (required for verify-ca / verify-full). */
  caFile?: string;
  /** Name the certificate must carry (verify-full) and the SNI name; default the dialed host. */
  serverName?: string;
};

/**
 * Decoupled application credentials (docs/PROXY.md, "Decoupled application credentials"): clients
 * log in as `user` with their own credential (an IAM token, or the password in `passwordSecretId`,
 * SCRAM-verified by the proxy) and never see the database secret; the proxy logs in upstream with
 * `secretId`'s AWSCURRENT, whatever user and password a rotation put there.
 */
export interface ApplicationLogin {
  /** The login name applications use (fixed: rotations never change it). */
  user: string;
  /** The rotated database secret the proxy logs in with (one of the target's secretIds). */
  secretId: string;
  /** A secret of the application's own (JSON with username and password; only its password is used). */
  passwordSecretId?: string;
}

export interface ProxyTargetConfig {
  /** Unique name (admin API, metrics). */
  name: string;
  listen: Endpoint;
  upstream: UpstreamConfig;
  /**
   * Secrets (AWS database-secret JSON: username, password) whose users may log in through this
   * target. A client logs in with the username and password of one of them (AWSCURRENT, or
   * AWSPREVIOUS for `previousPasswordGraceMs` after a rotation); the proxy logs in to the database
   * with that secret's AWSCURRENT credentials.
   */
  secretIds: string[];
  mode: PoolMode;
  /** Maximum server connections per (database, user) pool. */
  poolSize: number;
  /** How long a client waits for a server connection before it gets an error (53300). */
  borrowTimeoutMs: number;
  /** Server connections idle this long are closed. */
  serverIdleTimeoutMs: number;
  /** Server connections older than this are closed when they come back (PgBouncer's server_lifetime). */
  serverLifetimeMs: number;
  /** A server connection idle this long is health-checked (empty query) before reuse. */
  healthCheckAfterMs: number;
  /** Clients idle this long (no transaction open) are disconnected; 0 = never. */
  clientIdleTimeoutMs: number;
  /** Start-up + authentication must finish within this. */
  authTimeoutMs: number;
  connectTimeoutMs: number;
  /** Largest frontend message body accepted (bytes); larger closes the client (54000). */
  maxMessageBytes: number;
  /** AWSPREVIOUS passwords are accepted from clients for this long after a rotation. */
  previousPasswordGraceMs: number;
  /** How long pause() waits for in-flight transactions before giving up (and resuming). */
  pauseTimeoutMs: number;
  /** Refuse clients that did not negotiate TLS (28000). */
  requireTls: boolean;
  auth: AuthMode;
  /** IAM: the rds-db:connect resource id (`arn:aws:rds-db:<region>:<account>:dbuser:<resourceId>/<user>`). Default `proxy-<name>`. */
  resourceId: string;
  /**
   * IAM: the `<hostname>:<port>` endpoints clients sign tokens for (`new Signer({ hostname, port })`);
   * a name without a port means the target's listening port.
   */
  iamHosts: string[];
  /**
   * Decoupled mode when non-empty: only these login names are accepted, each authenticated with its
   * own credential, and the database secrets' users are not login names.
   */
  applications: ApplicationLogin[];
}

export const TARGET_DEFAULTS = {
  mode: 'session' as PoolMode,
  poolSize: 20,
  borrowTimeoutMs: 30_000,
  serverIdleTimeoutMs: 600_000,
  serverLifetimeMs: 3_600_000,
  healthCheckAfterMs: 30_000,
  clientIdleTimeoutMs: 0,
  authTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
  maxMessageBytes: 64 * 1024 * 1024,
  previousPasswordGraceMs: 300_000,
  pauseTimeoutMs: 30_000,
  requireTls: false,
  auth: 'password' as AuthMode,
};

export type ProxyTargetInput = Pick<ProxyTargetConfig, 'name' | 'listen' | 'upstream' | 'secretIds'> & Partial<Omit<ProxyTargetConfig, 'applications'>> & {
  /** `secretId` may be left out when the target has one secret. */
  applications?: (Omit<ApplicationLogin, 'secretId'> & { secretId?: string })[];
};

const IAM_HOST = /^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._-]{1,253})(:\d{1,5})?$/;

/** `<hostname>:<port>` for each configured IAM host, the listening port filled in where none is given. */
export function iamEndpoints(hosts: readonly string[], listenPort: number): string[] {
  return hosts.map((h) => ((h.startsWith('[') ? /\]:\d+$/ : /:\d+$/).test(h) ? h : `${h}:${listenPort}`));
}

function isEndpoint(e: unknown): e is Endpoint {
  const o = e as Endpoint;
  return typeof o === 'object' && o !== null && typeof o.host === 'string' && o.host.length > 0 && Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535;
}

const SERVER_NAME = /^([0-9A-Fa-f:.]{2,45}|[A-Za-z0-9._-]{1,253})$/;

function checkUpstreamTls(u: UpstreamConfig, where: string): void {
  const mode = u.tls ?? 'disable';
  if (!UPSTREAM_TLS_MODES.includes(mode)) throw new ConfigurationError(`${where}.upstream.tls must be disable, require, verify-ca or verify-full`);
  const verify = mode === 'verify-ca' || mode === 'verify-full';
  if (u.caFile !== undefined && (typeof u.caFile !== 'string' || u.caFile.length === 0)) throw new ConfigurationError(`${where}.upstream.caFile must be a file path`);
  if (verify && u.caFile === undefined) throw new ConfigurationError(`${where}.upstream.caFile is required with upstream.tls ${mode} (the PEM bundle of the CAs the database's certificate must lead to)`);
  if (!verify && u.caFile !== undefined) throw new ConfigurationError(`${where}.upstream.caFile is only used with upstream.tls verify-ca or verify-full (${mode} does not check the certificate)`);
  if (u.serverName !== undefined && (typeof u.serverName !== 'string' || !SERVER_NAME.test(u.serverName))) throw new ConfigurationError(`${where}.upstream.serverName must be a host name or IP address`);
  if (mode === 'disable' && u.serverName !== undefined) throw new ConfigurationError(`${where}.upstream.serverName needs upstream.tls require, verify-ca or verify-full`);
}

const LOGIN_NAME = /^[^\0\s"]{1,63}$/;

function checkApplications(c: ProxyTargetConfig, where: string): ApplicationLogin[] {
  const list = (c as { applications?: unknown }).applications ?? [];
  if (!Array.isArray(list)) throw new ConfigurationError(`${where}.applications must be a list of {user, secretId, passwordSecretId}`);
  const users = new Set<string>();
  return list.map((a: Partial<ApplicationLogin>, j) => {
    const at = `${where}.applications[${j}]`;
    if (typeof a !== 'object' || a === null) throw new ConfigurationError(`${at} must be {user, secretId, passwordSecretId}`);
    if (typeof a.user !== 'string' || !LOGIN_NAME.test(a.user)) throw new ConfigurationError(`${at}.user must be 1 to 63 characters without spaces, quotes or NUL`);
    if (users.has(a.user)) throw new ConfigurationError(`${at}.user ${a.user} is used twice`);
    users.add(a.user);
    const secretId = a.secretId ?? (c.secretIds.length === 1 ? c.secretIds[0] : undefined);
    if (typeof secretId !== 'string' || !c.secretIds.includes(secretId)) {
      throw new ConfigurationError(`${at}.secretId must be one of the target's secretIds (the database secret the proxy logs in with)`);
    }
    const pw = a.passwordSecretId;
    if (pw !== undefined && (typeof pw !== 'string' || pw.length === 0 || pw.length > 2048)) throw new ConfigurationError(`${at}.passwordSecretId must be a secret id`);
    // the database secret rotates: a client holding its password would break at every rotation
    if (pw !== undefined && c.secretIds.includes(pw)) throw new ConfigurationError(`${at}.passwordSecretId must be a secret of the application's own, not one of the target's database secrets`);
    if (pw === undefined && c.auth === 'password') throw new ConfigurationError(`${at}.passwordSecretId is required with auth password (the application's own password)`);
    if (pw !== undefined && c.auth === 'iam') throw new ConfigurationError(`${at}.passwordSecretId is not used with auth iam (clients present IAM tokens only)`);
    return Object.freeze({ user: a.user, secretId, ...(pw !== undefined ? { passwordSecretId: pw } : {}) });
  });
}

/** Fills defaults and checks every target; throws ConfigurationError naming the first problem. */
export function validateTargets(input: readonly ProxyTargetInput[]): readonly ProxyTargetConfig[] {
  const names = new Set<string>();
  return Object.freeze(input.map((t, i) => {
    const where = `proxy.targets[${i}]`;
    if (typeof t.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(t.name)) throw new ConfigurationError(`${where}.name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}`);
    if (names.has(t.name)) throw new ConfigurationError(`${where}.name ${t.name} is used twice`);
    names.add(t.name);
    if (!isEndpoint(t.listen)) throw new ConfigurationError(`${where}.listen must be {host, port}`);
    if (!isEndpoint(t.upstream) || t.upstream.port === 0) throw new ConfigurationError(`${where}.upstream must be {host, port}`);
    checkUpstreamTls(t.upstream, where);
    if (!Array.isArray(t.secretIds) || t.secretIds.length === 0 || !t.secretIds.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 2048)) {
      throw new ConfigurationError(`${where}.secretIds must be a non-empty list of secret ids`);
    }
    const c = { ...TARGET_DEFAULTS, ...t } as ProxyTargetConfig;
    if (c.mode !== 'session' && c.mode !== 'transaction') throw new ConfigurationError(`${where}.mode must be session or transaction`);
    const ints: [keyof ProxyTargetConfig, number, number][] = [
      ['poolSize', 1, 10_000], ['borrowTimeoutMs', 1, 3_600_000], ['serverIdleTimeoutMs', 1000, 86_400_000], ['serverLifetimeMs', 100, 86_400_000 * 7],
      ['healthCheckAfterMs', 0, 86_400_000], ['clientIdleTimeoutMs', 0, 86_400_000], ['authTimeoutMs', 100, 600_000],
      ['connectTimeoutMs', 100, 600_000], ['maxMessageBytes', 1024, 1024 * 1024 * 1024 - 1],
      ['previousPasswordGraceMs', 0, 86_400_000 * 7], ['pauseTimeoutMs', 1, 3_600_000],
    ];
    for (const [k, min, max] of ints) {
      const v = c[k];
      if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new ConfigurationError(`${where}.${k} must be an integer in [${min}, ${max}]`);
    }
    if (typeof c.requireTls !== 'boolean') throw new ConfigurationError(`${where}.requireTls must be a boolean`);
    if (c.auth !== 'password' && c.auth !== 'iam' && c.auth !== 'password+iam') throw new ConfigurationError(`${where}.auth must be password, iam or password+iam`);
    c.resourceId ??= `proxy-${c.name.replace(/[^A-Za-z0-9-]/g, '-')}`;
    if (typeof c.resourceId !== 'string' || !/^[A-Za-z0-9-]{1,255}$/.test(c.resourceId)) throw new ConfigurationError(`${where}.resourceId must be letters, digits and hyphens`);
    c.iamHosts ??= [];
    if (!Array.isArray(c.iamHosts) || !c.iamHosts.every((h) => typeof h === 'string' && IAM_HOST.test(h))) {
      throw new ConfigurationError(`${where}.iamHosts must be a list of "<hostname>[:<port>]" (IPv6 in brackets)`);
    }
    if (c.auth !== 'password' && c.iamHosts.length === 0) throw new ConfigurationError(`${where}.iamHosts must name the "<hostname>:<port>" clients sign IAM tokens for (auth ${c.auth})`);
    const applications = checkApplications(c, where);
    return Object.freeze({ ...c, listen: { ...c.listen }, upstream: { ...c.upstream, tls: c.upstream.tls ?? 'disable' }, secretIds: [...c.secretIds], iamHosts: [...c.iamHosts], applications });
  }));
}
