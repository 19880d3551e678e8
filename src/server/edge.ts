// Opens what the API's edge needs from the configuration (docs/TLS.md): the certificate component
// (generated CA or files), the request quotas with the cluster's node registry, and the audit
// events for certificate issuance and rotation. src/server.ts calls openEdge before building the
// app and edge.attach(app) after.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.ts';
import type { Barrier } from '../storage/barrier.ts';
import { ConfigurationError } from '../errors.ts';
import { CertService, type CertEvent } from '../certs/service.ts';
import { QuotaService } from '../quotas/service.ts';
import { NodeRegistry } from '../quotas/cluster.ts';
import { type AuditLog, serviceEvent } from '../audit/index.ts';
import { setServerContext, type EdgeTls } from '../http/edge.ts';

export interface Edge {
  certs?: CertService;
  quotas: QuotaService;
  tls?: EdgeTls;
  /** <dataDir>/tls/ca.pem in generated mode: rekey's CA certificate for clients (--ca-bundle). */
  caBundlePath?: string;
  attach(app: FastifyInstance, log: (m: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Outside dev mode rekey does not listen on plain HTTP unless told to (`--insecure-http`). */
export function requireTlsOrConsent(cfg: Readonly<Config>): void {
  if (!cfg.dev && cfg.tls.mode === 'off' && !cfg.tls.insecureHttp) {
    throw new ConfigurationError('refusing to listen without TLS outside dev mode: set tls.mode to "generated" (REKEY_TLS=generated, rekey\'s own CA) or "files" (REKEY_TLS_CERT_FILE + REKEY_TLS_KEY_FILE), or pass --insecure-http (REKEY_INSECURE_HTTP=1) to accept plain HTTP');
  }
}

export function certEventAudit(audit: AuditLog, cfg: Readonly<Config>, log: (m: string) => void) {
  return (e: CertEvent): void => {
    const { type, at, ...details } = e;
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(details)) flat[k] = Array.isArray(v) ? v.join(',') : String(v);
    audit.append(serviceEvent({
      eventName: type, service: 'certs', region: cfg.region, accountId: cfg.accountId, now: at,
      resources: [`arn:aws:rekey:${cfg.region}:${cfg.accountId}:certificate/${e.serial}`], details: flat,
    })).catch(() => log(`audit: could not record ${type} for certificate ${e.serial}`));
  };
}

export async function openEdge(cfg: Readonly<Config>, barrier: Barrier, audit: AuditLog, node: string, clock?: () => Date): Promise<Edge> {
  requireTlsOrConsent(cfg);
  let pendingLog: (m: string) => void = (m) => process.stderr.write(m + '\n');
  const t = cfg.tls;
  let certs: CertService | undefined;
  let caBundlePath: string | undefined;
  if (t.mode !== 'off') {
    certs = new CertService({
      barrier, node, mode: t.mode, sans: t.sans,
      certLifetimeMs: t.certLifetimeSeconds * 1000, caLifetimeMs: t.caLifetimeSeconds * 1000, caOverlapMs: (t.caOverlapSeconds ?? 30 * 86400) * 1000, checkIntervalMs: t.checkIntervalSeconds * 1000,
      ...(t.certFile ? { certFile: t.certFile } : {}), ...(t.keyFile ? { keyFile: t.keyFile } : {}), ...(t.clientCaFile ? { clientCaFile: t.clientCaFile } : {}),
      ...(clock ? { clock } : {}),
      onEvent: certEventAudit(audit, cfg, (m) => pendingLog(m)),
      onError: (m) => pendingLog(m),
    });
    await certs.init();
    if (t.mode === 'generated') {
      // the CA certificate is public: written out so clients can trust it (--ca-bundle)
      const dir = join(cfg.dataDir, 'tls');
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'ca.pem');
      caBundlePath = path;
      // rewritten (atomically) when a CA rotation phase changes the bundle
      let written = certs.caBundle() ?? '';
      writeFileSync(path, written, { mode: 0o644 });
      const svc = certs;
      svc.onRotated(() => {
        const now = svc.caBundle() ?? '';
        if (now === written) return;
        try {
          writeFileSync(`${path}.tmp`, now, { mode: 0o644 });
          renameSync(`${path}.tmp`, path);
          written = now;
        } catch (e) {
          pendingLog(`certs: could not rewrite ${path}: ${(e as Error).message}`);
        }
      });
    }
  }
  const ctx = certs?.serverContext();
  const tls: EdgeTls | undefined = ctx ? { cert: ctx.cert, key: ctx.key, ...(ctx.ca ? { ca: ctx.ca } : {}), clientAuth: t.clientAuth } : undefined;
  const quotas = new QuotaService(cfg.quotas, clock ? { clock: () => clock().getTime() } : {});
  const registry = new NodeRegistry({ barrier, node, onCount: (n) => quotas.setNodeCount(n), onError: (m) => pendingLog(m) });
  let sighup: (() => void) | undefined;
  return {
    ...(certs ? { certs } : {}), quotas, ...(tls ? { tls } : {}), ...(caBundlePath ? { caBundlePath } : {}),
    async attach(app, log) {
      pendingLog = log;
      if (certs) {
        certs.onRotated((c) => setServerContext(app, c));
        certs.start();
        sighup = () => { void certs!.reload(); };
        process.on('SIGHUP', sighup);
      }
      await registry.start();
    },
    async close() {
      if (sighup) process.off('SIGHUP', sighup);
      await certs?.stop();
      await registry.stop();
    },
  };
}
