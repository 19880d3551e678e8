// Creates the PostgreSQL proxy (docs/PROXY.md, "Wiring") when the configuration names targets: the
// ports src/proxy needs, implemented over the rest of rekey (src/proxy imports none of these):
//   - SecretSource over the secrets service: internal reads of AWSCURRENT / AWSPREVIOUS (no caller
//     authorization: the proxy is rekey itself), waiting during a switching window like
//     GetSecretValue; onRotated from the secrets.rotate job's finish on this node (other nodes:
//     the proxy's 5 s cache and its login retry after re-reading the secret);
//   - IamTokenVerifier over IamService.authenticateDbToken (rds-db:connect);
//   - TLS: a certificate issued from rekey's CA for the proxy's names (key in memory only, issued
//     again at start, when the API certificate rotates, e.g. after a CA change, and 2/3 into its
//     lifetime), or files re-read on change / SIGHUP; swapped in with setSecureContext;
//   - audit: client-auth and cutover events as AwsServiceEvents (eventSource rekey.proxy);
//   - UpstreamStore over the barrier (proxy/upstreams/<target>): the endpoint of the last cutover,
//     written through the admin call's gate, applied at start and re-read every 2 s (other nodes);
//   - the rotation's LiveEndpoint: a served secret is rotated on the server its target was cut
//     over to (liveEndpoints).
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Config } from '../config/config.ts';
import type { CertService } from '../certs/service.ts';
import type { IamService } from '../iam/service.ts';
import type { JobEvent } from '../jobs/runner.ts';
import type { SecretsService } from '../secrets/service.ts';
import { SecretsSource } from '../secrets/proxy-source.ts';
import { KIND_ROTATE, type LiveEndpoint, type RotateJobData } from '../secrets/rotation/job.ts';
import { type AuditLog, serviceEvent } from '../audit/index.ts';
import { ConfigurationError } from '../errors.ts';
import { ProxyService, type ProxyEvent } from '../proxy/service.ts';
import { AuthAuditPolicy, parseAuthAuditMode } from '../proxy/auth-audit.ts';
import type { IamTokenVerifier, UpstreamStore } from '../proxy/ports.ts';
import type { Endpoint, ProxyTargetConfig } from '../proxy/config.ts';
import type { BarrierView } from '../storage/gate.ts';
import { TLS_POLICY } from '../crypto/tls-policy.ts';

export interface ProxySetup {
  proxy: ProxyService;
  /** Feed the job engine's events (secrets.rotate finishes tell the proxy at once). */
  onJobEvent(e: JobEvent): void;
  close(): Promise<void>;
}

export function iamVerifier(iam: IamService): IamTokenVerifier {
  return {
    async verifyIamToken(r) {
      const id = await iam.authenticateDbToken({ token: r.token, dbUser: r.user, expectedHosts: r.expectedHosts, resourceId: r.resourceId, ...(r.sourceIp ? { sourceIp: r.sourceIp } : {}), secureTransport: true });
      return { principalArn: id.arn };
    },
  };
}

/**
 * The proxy's events in the audit trail (docs/PROXY.md, "Audit events"): client authentications as
 * the policy admits them (src/proxy/auth-audit.ts; the others are counted into the periodic
 * ClientAuthenticationSummary), failed upstream logins (also a log line: never the password), and
 * cutovers. `summarize()` writes the period's summaries (called by openProxy's timer and at close).
 */
export function proxyAudit(audit: AuditLog, cfg: Readonly<Config>, log: (m: string) => void, policy = new AuthAuditPolicy(parseAuthAuditMode(cfg.proxy?.auditAuth ?? 'failures'))): ((e: ProxyEvent) => void) & { summarize(periodSeconds: number): void } {
  const record = (target: string, eventName: string, details: Record<string, string | number | boolean>): void => {
    audit.append(serviceEvent({
      service: 'proxy', eventName, region: cfg.region, accountId: cfg.accountId, now: new Date(),
      resources: [`arn:aws:rekey:${cfg.region}:${cfg.accountId}:proxy-target/${target}`], details: { target, ...details },
    })).catch(() => log(`audit: could not record ${eventName} for proxy target ${target}`));
  };
  const onEvent = (e: ProxyEvent): void => {
    const details: Record<string, string | number | boolean> = {};
    if (e.type === 'client-auth') {
      if (!policy.admit(e.target, e.ok)) return;
      Object.assign(details, { dbUser: e.user, database: e.database, clientAddress: e.remote, method: e.method, tls: e.tls });
      if (e.principalArn) details.principalArn = e.principalArn;
      if (e.reason) details.reason = e.reason;
      if (e.login) details.login = e.login;
      return record(e.target, e.ok ? 'ClientAuthenticationSucceeded' : 'ClientAuthenticationFailed', details);
    }
    if (e.type === 'upstream-login-failed') {
      const where = `${e.endpoint.host}:${e.endpoint.port}`;
      const more = e.suppressed > 0 ? ` (${e.suppressed} more failure(s) since the last report)` : '';
      log(`proxy: target ${e.target} could not log in to the database at ${where} as ${JSON.stringify(e.user)} (database ${JSON.stringify(e.database)}): ${e.reason}${e.sqlstate ? ` ${e.sqlstate}` : ''}: ${e.message}${more}`);
      Object.assign(details, { dbUser: e.user, database: e.database, endpoint: where, reason: e.reason, message: e.message, suppressed: e.suppressed });
      if (e.sqlstate) details.sqlstate = e.sqlstate;
      return record(e.target, 'UpstreamLoginFailed', details);
    }
    details.action = e.action;
    if (e.endpoint) details.endpoint = `${e.endpoint.host}:${e.endpoint.port}`;
    if (e.from) details.from = `${e.from.host}:${e.from.port}`;
    if (e.drainedMs !== undefined) details.drainedMs = e.drainedMs;
    if (e.pausedMs !== undefined) details.pausedMs = e.pausedMs;
    if (e.stallMs !== undefined) details.stallMs = e.stallMs;
    if (e.reason) details.reason = e.reason;
    record(e.target, 'ProxyCutover', details);
  };
  return Object.assign(onEvent, {
    summarize(periodSeconds: number): void {
      for (const s of policy.drain()) {
        record(s.target, 'ClientAuthenticationSummary', { succeeded: s.succeeded, failed: s.failed, recorded: s.recorded, periodSeconds, mode: cfg.proxy?.auditAuth ?? 'failures' });
      }
    },
  });
}

/** The chosen upstream of each target, kept in the barrier (encrypted like everything stored). */
export function barrierUpstreams(barrier: BarrierView): UpstreamStore {
  const path = (target: string) => `proxy/upstreams/${target}`;
  return {
    async load(target) {
      const r = await barrier.getJSON<{ host: string; port: number }>(path(target));
      return r ? { host: r.value.host, port: r.value.port } : undefined;
    },
    async save(target, endpoint, gate) {
      await gate?.pass(); // the admin call's audit event is durable before the write (no event: no write)
      await barrier.putJSON(path(target), { host: endpoint.host, port: endpoint.port });
    },
  };
}

/** The names a generated proxy certificate covers: proxy.tls.sans, else the API's SANs + listen hosts + IAM host names. */
export function proxySans(cfg: Readonly<Config>): string[] {
  const p = cfg.proxy!;
  if (p.tls?.sans?.length) return [...p.tls.sans];
  const names = new Set(cfg.tls.sans);
  for (const t of p.targets) {
    if (!['0.0.0.0', '::', ''].includes(t.listen.host)) names.add(t.listen.host);
    for (const h of t.iamHosts) names.add(h.slice(0, h.lastIndexOf(':')).replace(/^\[|\]$/g, ''));
  }
  return [...names];
}

interface TlsSource {
  context: SecureContext | undefined;
  start(swap: (ctx: SecureContext) => void): void;
  stop(): void;
}

async function proxyTls(cfg: Readonly<Config>, certs: CertService | undefined, log: (m: string) => void): Promise<TlsSource> {
  const mode = cfg.proxy?.tls?.mode ?? (cfg.tls.mode === 'generated' ? 'generated' : 'off');
  const none: TlsSource = { context: undefined, start() {}, stop() {} };
  if (mode === 'off') return none;
  if (mode === 'files') {
    const { certFile, keyFile } = cfg.proxy!.tls!;
    const stamp = () => `${statSync(certFile!).mtimeMs}/${statSync(keyFile!).mtimeMs}`;
    const load = () => createSecureContext({ cert: readFileSync(certFile!), key: readFileSync(keyFile!), ...TLS_POLICY });
    let last = stamp();
    const first = load();
    let timer: NodeJS.Timeout | undefined;
    let sighup: (() => void) | undefined;
    return {
      context: first,
      start(swap) {
        const reload = (force: boolean) => {
          try {
            const s = stamp();
            if (!force && s === last) return;
            swap(load());
            last = s;
          } catch (e) {
            log(`proxy: could not reload the TLS files (keeping the current certificate): ${(e as Error).message}`);
          }
        };
        timer = setInterval(() => reload(false), (cfg.tls.checkIntervalSeconds ?? 60) * 1000);
        timer.unref();
        sighup = () => reload(true);
        process.on('SIGHUP', sighup);
      },
      stop() {
        clearInterval(timer);
        if (sighup) process.off('SIGHUP', sighup);
      },
    };
  }
  if (!certs || certs.mode !== 'generated') throw new ConfigurationError('proxy.tls.mode "generated" needs tls.mode "generated" (rekey\'s CA)');
  const lifetimeMs = cfg.tls.certLifetimeSeconds * 1000;
  const sans = proxySans(cfg);
  let issuedAt = 0;
  // the key exists only in memory: a new certificate is issued at every start (rekey's CA is the trust anchor)
  const issue = async () => {
    const pair = await certs.issue({ commonName: 'rekey-proxy', sans, usage: 'server', lifetimeMs });
    issuedAt = Date.now();
    return createSecureContext({ cert: pair.certPem, key: pair.keyPem, ...TLS_POLICY });
  };
  const first = await issue();
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    context: first,
    start(swap) {
      const renew = (why: string) => issue().then(swap, (e: unknown) => log(`proxy: could not issue a new certificate (${why}): ${(e as Error).message}`));
      unsubscribe = certs.onRotated(() => void renew('the API certificate rotated'));
      timer = setInterval(() => {
        if (Date.now() - issuedAt > (lifetimeMs * 2) / 3) void renew('2/3 of its lifetime');
      }, Math.min(cfg.tls.checkIntervalSeconds * 1000, lifetimeMs / 6));
      timer.unref();
    },
    stop() {
      unsubscribe?.();
      clearInterval(timer);
    },
  };
}

/**
 * The rotation's LiveEndpoint (src/secrets/rotation/job.ts; docs/PROXY.md, "Rotation after a
 * cutover"): for a secret that a target serves (in its secretIds), the endpoint of that target's last
 * cutover (stored in the barrier: every node agrees), else this node's live endpoint when a switch
 * moved it off the configured upstream; undefined when the target never moved (the secret's own host
 * and port are used, as before). Targets that serve the secret from different servers make the step
 * fail (retried by the job) rather than guess (one moved target, one not, disagree too).
 */
export function liveEndpoints(targets: readonly ProxyTargetConfig[], secrets: SecretsService, store: UpstreamStore, live: (target: string) => Endpoint): LiveEndpoint {
  return async (arn) => {
    const serving: { target: string; host: string; port: number }[] = [];
    let moved = false;
    for (const t of targets) {
      let serves = false;
      for (const id of t.secretIds) if ((await secrets.ctx.find(id))?.rec.arn === arn) serves = true;
      if (!serves) continue;
      const here = live(t.name);
      const stored = await store.load(t.name);
      const ep = stored ?? here;
      moved ||= stored !== undefined || here.host !== t.upstream.host || here.port !== t.upstream.port;
      serving.push({ target: t.name, host: ep.host, port: ep.port });
    }
    const first = serving[0];
    if (!first || !moved) return undefined;
    const other = serving.find((m) => m.host !== first.host || m.port !== first.port);
    if (other) throw new ConfigurationError(`proxy targets ${first.target} (${first.host}:${first.port}) and ${other.target} (${other.host}:${other.port}) serve this secret from different servers: cut them over to the same one before rotating`);
    return { host: first.host, port: first.port, via: first.target };
  };
}

/** Creates and starts the proxy; undefined when no targets are configured. */
export async function openProxy(o: { cfg: Readonly<Config>; barrier: BarrierView; secrets: SecretsService; iam: IamService; audit: AuditLog; certs: CertService | undefined; log: (m: string) => void }): Promise<ProxySetup | undefined> {
  const targets = o.cfg.proxy?.targets ?? [];
  if (targets.length === 0) return undefined;
  const source = new SecretsSource(o.secrets);
  const tls = await proxyTls(o.cfg, o.certs, o.log);
  const needsTls = targets.find((t) => t.auth !== 'password');
  if (needsTls && !tls.context) {
    throw new ConfigurationError(`proxy target ${needsTls.name} uses auth ${needsTls.auth}: IAM tokens are accepted over TLS only, so the proxy needs a certificate (proxy.tls.mode "generated" with tls.mode "generated", or "files")`);
  }
  const onEvent = proxyAudit(o.audit, o.cfg, o.log);
  const summarySeconds = o.cfg.proxy?.auditSummarySeconds ?? 60;
  const summaries = setInterval(() => onEvent.summarize(summarySeconds), summarySeconds * 1000);
  summaries.unref();
  const upstreams = barrierUpstreams(o.barrier);
  const proxy = new ProxyService({
    targets, secrets: source, iam: iamVerifier(o.iam),
    ...(tls.context ? { tls: tls.context } : {}),
    onEvent,
    upstreams,
    log: (e) => o.log(`proxy: ${e instanceof Error ? e.stack ?? e.message : String(e)}`),
  });
  await proxy.start();
  tls.start((ctx) => proxy.setSecureContext(ctx));
  // rotations of a served secret go to the server the proxy logs in to (issue 19 item 4)
  o.secrets.rotation.setLiveEndpoint(liveEndpoints(targets, o.secrets, upstreams, (name) => proxy.status().find((t) => t.name === name)!.upstream));
  return {
    proxy,
    onJobEvent(e) {
      if (e.job.kind === KIND_ROTATE && e.type === 'succeeded' && e.step === 'finishSecret') source.rotated((e.job.data as RotateJobData).arn);
    },
    async close() {
      o.secrets.rotation.setLiveEndpoint(undefined);
      tls.stop();
      await proxy.close();
      clearInterval(summaries);
      onEvent.summarize(summarySeconds); // the last, partial period (the audit log is still open)
    },
  };
}
