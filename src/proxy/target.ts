// One configured proxy target: its pools, cutover state, clients, and the client-auth material
// derived from its mapped secrets (cached SECRET_CACHE_MS; dropped on a rotation). Owned by ProxyService.
import type { Server } from 'node:net';
import type { SecureContext } from 'node:tls';
import { hmacSha256, randomBytes } from '../crypto/index.ts';
import { scramKeys, SCRAM_DEFAULT_ITERATIONS, type ScramKeys } from '../crypto/scram.ts';
import type { ClientConn } from './client.ts';
import type { AuthEventFacts, ClientContext, LoginMaterial } from './client-context.ts';
import type { ApplicationLogin, ProxyTargetConfig } from './config.ts';
import { Cutover, Pool } from './pool.ts';
import type { IamTokenVerifier, SecretCredentials } from './ports.ts';
import type { ProxyService } from './service.ts';
import { UpstreamTlsSource } from './upstream-tls.ts';
import { UpstreamError } from './upstream.ts';

interface SecretEntry {
  at: number;
  current: SecretCredentials;
  previous: SecretCredentials | undefined;
}

const SECRET_CACHE_MS = 5000;
/** A failing upstream login is reported at most this often per (database, user); every failure is counted. */
export const LOGIN_FAILURE_REPORT_MS = 10_000;

/** Why a pool could not log in: credentials refused, no connection, another server error, or the secret could not be read. */
export type LoginFailureReason = 'auth' | 'connect' | 'server' | 'credentials';

export function loginFailureReason(e: unknown): LoginFailureReason {
  if (!(e instanceof UpstreamError)) return 'credentials';
  if (e.auth) return 'auth';
  return e.sqlstate.startsWith('08') ? 'connect' : 'server';
}

export class Target implements ClientContext {
  readonly cutover: Cutover;
  readonly pools = new Map<string, Pool>();
  readonly clients = new Set<ClientConn>();
  /** Which secret each pool (database \0 user) logs in with. */
  private readonly poolSecrets = new Map<string, string>();
  server: Server | undefined;
  private readonly secretCache = new Map<string, Promise<SecretEntry>>();
  private readonly salts = new Map<string, Buffer>();
  private readonly keys = new Map<string, ScramKeys>(); // secretId \0 versionId -> keys (with the secret's salt)
  private readonly mockKey = randomBytes(32);
  readonly mockKeys = scramKeys(randomBytes(32).toString('base64'), randomBytes(16), SCRAM_DEFAULT_ITERATIONS);
  /** upstream.tls with its CA bundle (re-read when the file changes). */
  readonly upstreamTls: UpstreamTlsSource;
  /** Since start (the metrics read them): client authentications, and failed upstream logins by reason. */
  readonly stats = { clientAuthSucceeded: 0, clientAuthFailed: 0, loginFailures: {} as Partial<Record<LoginFailureReason, number>> };
  private readonly loginReports = new Map<string, { at: number; suppressed: number }>();

  constructor(readonly cfg: ProxyTargetConfig, private readonly svc: ProxyService) {
    this.cutover = new Cutover({ host: cfg.upstream.host, port: cfg.upstream.port });
    this.upstreamTls = new UpstreamTlsSource(cfg.name, cfg.upstream, (e) => svc.log(e));
  }

  get tls(): SecureContext | undefined {
    return this.svc.tls;
  }

  get listenPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.cfg.listen.port;
  }

  get iam(): IamTokenVerifier | undefined {
    return this.svc.iam;
  }

  private secret(id: string): Promise<SecretEntry> {
    const cached = this.secretCache.get(id);
    if (cached) return cached.then((e) => (Date.now() - e.at < SECRET_CACHE_MS ? e : this.readSecret(id)));
    return this.readSecret(id);
  }

  private readSecret(id: string): Promise<SecretEntry> {
    // AWSCURRENT first: during a switching window it waits for finishSecret, and AWSPREVIOUS must be
    // read after that (before it, AWSPREVIOUS is the version about to be replaced)
    const src = this.svc.secrets;
    const p = src.current(id).then(async (current) => ({ at: Date.now(), current, previous: await src.previous(id) }));
    this.secretCache.set(id, p);
    p.catch(() => this.secretCache.delete(id));
    return p;
  }

  private keysFor(secretId: string, c: SecretCredentials): ScramKeys {
    const k = `${secretId}\0${c.versionId}`;
    let keys = this.keys.get(k);
    if (!keys) {
      let salt = this.salts.get(secretId);
      if (!salt) this.salts.set(secretId, (salt = randomBytes(16)));
      // one salt for every version of a secret: server-first does not depend on which password the client has
      keys = scramKeys(c.password, salt, SCRAM_DEFAULT_ITERATIONS);
      this.keys.set(k, keys);
    }
    return keys;
  }

  /** Decoupled mode (cfg.applications non-empty): the application logging in as `user`, if any. */
  private application(user: string): ApplicationLogin | undefined {
    return this.cfg.applications.find((a) => a.user === user);
  }

  get decoupled(): boolean {
    return this.cfg.applications.length > 0;
  }

  /** SCRAM keys of a secret's AWSCURRENT, and of AWSPREVIOUS within the grace, when `accepts` says the version's username may log in. */
  private async candidates(id: string, accepts: (c: SecretCredentials) => boolean): Promise<ScramKeys[] | undefined> {
    let e: SecretEntry;
    try {
      e = await this.secret(id);
    } catch {
      return undefined;
    }
    const candidates: ScramKeys[] = [];
    if (accepts(e.current)) candidates.push(this.keysFor(id, e.current));
    const p = e.previous;
    if (p && accepts(p) && p.demotedAt && Date.now() - p.demotedAt.getTime() <= this.cfg.previousPasswordGraceMs) candidates.push(this.keysFor(id, p));
    return candidates.length > 0 ? candidates : undefined;
  }

  async loginMaterial(user: string): Promise<LoginMaterial | undefined> {
    if (this.decoupled) {
      // the application's own password (its secret's username is not used); upstream: the database secret
      const app = this.application(user);
      if (!app?.passwordSecretId) return undefined;
      const candidates = await this.candidates(app.passwordSecretId, () => true);
      return candidates && { secretId: app.secretId, salt: this.salts.get(app.passwordSecretId)!, iterations: SCRAM_DEFAULT_ITERATIONS, candidates };
    }
    for (const id of this.cfg.secretIds) {
      const candidates = await this.candidates(id, (c) => c.username === user);
      if (candidates) return { secretId: id, salt: this.salts.get(id)!, iterations: SCRAM_DEFAULT_ITERATIONS, candidates };
    }
    return undefined;
  }

  async iamSecretFor(user: string): Promise<string | undefined> {
    if (this.decoupled) return this.application(user)?.secretId;
    for (const id of this.cfg.secretIds) {
      const e = await this.secret(id).catch(() => undefined);
      if (e && (e.current.username === user || e.previous?.username === user)) return id;
    }
    return undefined;
  }

  mockSalt(user: string): Buffer {
    return hmacSha256(this.mockKey, user).subarray(0, 16);
  }

  pool(database: string, user: string, secretId: string): Pool {
    const key = `${database}\0${user}`;
    let p = this.pools.get(key);
    if (!p) {
      p = new Pool(database, user, this.cfg, this.cutover, () => this.svc.secrets.current(secretId), () => this.upstreamTls.current(),
        (e, endpoint) => this.loginFailed(database, user, e, endpoint));
      this.pools.set(key, p);
      this.poolSecrets.set(key, secretId);
    }
    return p;
  }

  registerCancel(c: ClientConn): { pid: number; secret: number } {
    return this.svc.registerCancel(c);
  }

  unregisterCancel(pid: number): void {
    this.svc.unregisterCancel(pid);
  }

  cancel(pid: number, secret: number): void {
    this.svc.cancel(pid, secret);
  }

  authEvent(e: AuthEventFacts): void {
    if (e.ok) this.stats.clientAuthSucceeded++;
    else this.stats.clientAuthFailed++;
    this.svc.emit({ type: 'client-auth', target: this.cfg.name, ...e, login: this.decoupled ? 'application' : 'database' });
  }

  /**
   * A pool could not log in to the database (src/proxy/pool.ts, after its retry): counted by reason,
   * and reported (the operator's log and the audit trail, through ProxyService.emit) at most once
   * per LOGIN_FAILURE_REPORT_MS per (database, user), with the number of failures not reported
   * since. The message is the server's or the socket's: never the password.
   */
  loginFailed(database: string, user: string, e: unknown, endpoint: { host: string; port: number }, now = Date.now()): void {
    const reason = loginFailureReason(e);
    this.stats.loginFailures[reason] = (this.stats.loginFailures[reason] ?? 0) + 1;
    const k = `${database}\0${user}`;
    const last = this.loginReports.get(k);
    if (last && now - last.at < LOGIN_FAILURE_REPORT_MS) {
      last.suppressed++;
      return;
    }
    this.loginReports.set(k, { at: now, suppressed: 0 });
    const message = (e instanceof Error ? e.message : String(e)).slice(0, 300);
    this.svc.emit({
      type: 'upstream-login-failed', target: this.cfg.name, database, user, endpoint: { host: endpoint.host, port: endpoint.port }, reason,
      ...(e instanceof UpstreamError ? { sqlstate: e.sqlstate } : {}), message, suppressed: last?.suppressed ?? 0,
    });
  }

  closed(c: ClientConn): void {
    this.clients.delete(c);
  }

  log(e: unknown): void {
    this.svc.log(e);
  }

  /**
   * Incident response (docs/INCIDENTS.md): ends every client session that logged in with one of
   * `secretIds` (57P01, as an administrator's pg_terminate_backend) and closes their pools' server
   * connections, which logged in to the database with the secret's credentials. Returns how many
   * client sessions it ended.
   */
  endSessions(secretIds: ReadonlySet<string>): number {
    let ended = 0;
    for (const c of [...this.clients]) {
      const id = c.loginSecretId;
      if (id !== undefined && secretIds.has(id)) {
        c.fatal('57P01', 'terminating connection due to administrator command');
        ended++;
      }
    }
    for (const [key, secretId] of this.poolSecrets) {
      if (!secretIds.has(secretId)) continue;
      this.pools.get(key)?.close();
      this.pools.delete(key);
      this.poolSecrets.delete(key);
    }
    this.rotated(); // cached credentials and derived keys of the secret go too
    return ended;
  }

  /** After a rotation: forget secrets and derived keys; pools re-read credentials on their next login. */
  rotated(): void {
    this.secretCache.clear();
    this.keys.clear(); // not zeroed: a client mid-exchange may still hold them (verifiers, not passwords)
    for (const p of this.pools.values()) p.invalidateCredentials();
  }
}

