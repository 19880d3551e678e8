// Composition root: configuration -> storage + barrier -> domain services -> HTTP.
import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.ts';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.ts';
import { openStore } from '../storage/open.ts';
import { startRollbackGuard } from '../storage/rollback.ts';
import type { Backend } from '../storage/backend.ts';
import type { Barrier } from '../storage/barrier.ts';
import type { AccessKeyRecord } from '../iam/access-keys.ts';
import { IamService } from '../iam/service.ts';
import { KmsService } from '../kms/service.ts';
import { buildApp } from '../http/app.ts';
import { kmsAdminRoutes } from '../http/admin-kms.ts';
import { dbAdminRoutes } from '../http/admin-db.ts';
import { keyEventHook, secretsJobHook } from '../http/job-events.ts';
import type { JobEvent } from '../jobs/runner.ts';
import { NO_AUTH_BANNER, noAuthIdentity, requireUnsafeNoAuthConsent, requireUnsafeNoAuditConsent } from './unsafe-no-auth.ts';
import { JobEngine } from '../jobs/engine.ts';
import { kmsLifecycleRoutes } from '../http/admin-kms-lifecycle.ts';
import { certsRoutes } from '../http/admin-certs.ts';
import { openAuditLog, nodeIdFor } from './audit.ts';
import { openEdge, requireTlsOrConsent, type Edge } from './edge.ts';
import type { CertService } from '../certs/service.ts';
import type { QuotaService } from '../quotas/service.ts';
import type { AuditLog } from '../audit/index.ts';
import { BUILTIN_STRATEGIES } from '../secrets/strategies/index.ts';
import { setDatabaseTrust } from '../secrets/strategies/common.ts';
import { VERSION } from '../version.ts';
import { SecretsService } from '../secrets/service.ts';
import type { RotationStrategy } from '../secrets/strategy.ts';
import { webhookRoutes } from '../http/admin-secrets.ts';
import { openProxy, type ProxySetup } from './proxy.ts';
import type { ProxyService } from '../proxy/service.ts';
import { openDatabases, type Databases } from '../db/open.ts';
import type { DbService } from '../db/api.ts';
import { rdsQueryService } from '../http/rds-query.ts';
import { upcomingRoutes } from '../http/admin-upcoming.ts';
import { Metrics } from '../metrics/registry.ts';
import { registerCollectors } from '../metrics/collectors.ts';
import { parseListen, startMetricsListener, type MetricsListener } from '../metrics/listener.ts';
import { complianceRoutes } from '../http/admin-compliance.ts';
import { compliancePorts, openCompliance } from './compliance.ts';
import { IncidentService } from '../compliance/incident/service.ts';
import { latestEvaluation } from '../compliance/job.ts';
import { incidentRoutes } from '../http/admin-incident.ts';
import { dbKeyHolder } from '../db/incident-holdings.ts';
import { keyserveKeyHolder } from '../keyserve/incident-holdings.ts';
import { DigestSigner } from '../audit/digest.ts';
import { KeyserveService } from '../keyserve/service.ts';
import { keyserveRoutes } from '../http/admin-keyserve.ts';
import { registerVaultKv } from '../http/vault-kv.ts';
import { alarmRoutes } from '../http/admin-alarms.ts';
import type { AlarmService } from '../alarms/service.ts';
import { openAlarms, type AlarmsSetup } from './alarms.ts';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  port: number;
  backend: Backend;
  barrier: Barrier;
  kms: KmsService;
  iam: IamService;
  jobs: JobEngine;
  secrets: SecretsService;
  audit: AuditLog;
  bootstrap: { rec: AccessKeyRecord; created: boolean };
  /** TLS (docs/TLS.md): the certificate component when tls.mode is not off. */
  certs?: CertService;
  /** Generated mode: the CA certificate file for clients (--ca-bundle). */
  caBundlePath?: string;
  quotas: QuotaService;
  /** The PostgreSQL proxy (docs/PROXY.md) when proxy.targets is configured. */
  proxy?: ProxyService;
  /** Database instances (docs/DATABASES.md). */
  db: Databases;
  /** Prometheus metrics (docs/METRICS.md) when metrics.listen is set: the registry and its listener's URL. */
  metrics?: { registry: Metrics; url: string };
  /** MariaDB keys for the hashicorp_key_management plugin (docs/MARIADB.md). */
  keyserve: KeyserveService;
  /** Incident response jobs (docs/INCIDENTS.md). */
  incidents: IncidentService;
  /** Alarms (docs/ALARMS.md), unless alarms.enabled is false. */
  alarms?: AlarmService;
  warning?: string;
  /** Protected rows found rolled back at start (src/storage/rollback.ts); each is also a tamper log line. */
  rollbackAtStart: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: () => Date;
  /** BENCHMARKS ONLY (src/unsafe-no-auth.ts): no SigV4, no policies; needs REKEY_BENCH_UNSAFE_NO_AUTH=1. */
  unsafeNoAuth?: boolean;
  /** BENCHMARKS ONLY: AWS API calls are not audited; needs REKEY_BENCH_UNSAFE_NO_AUDIT=1. */
  unsafeNoAudit?: boolean;
  /** Built-in secret-rotation strategies (RotationLambdaARN function:rekey-<name>; docs/SECRETS.md). */
  secretStrategies?: readonly RotationStrategy[];
  /** Database instances behind the RDS Query API (src/db; tests pass src/rds/testing.ts's double). */
  db?: DbService;
}

function readRotationCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigurationError(`cannot read secrets.rotationCaFile ${path}: ${(e as Error).message}`);
  }
}

export async function startServer(cfg: Readonly<Config>, opts: StartOptions = {}): Promise<RunningServer> {
  if (opts.unsafeNoAuth) {
    requireUnsafeNoAuthConsent(process.env);
    process.stderr.write(NO_AUTH_BANNER);
  }
  if (opts.unsafeNoAudit) {
    requireUnsafeNoAuditConsent(process.env);
    process.stderr.write('\n!!  REKEY_AUDIT=off: AWS API CALLS ARE NOT AUDITED (benchmarks only). Never expose this server.  !!\n\n');
  }
  requireTlsOrConsent(cfg);
  const store = await openStore({
    backend: cfg.storage.backend,
    dataDir: cfg.dataDir,
    rootKey: cfg.rootKey,
    ...(cfg.storage.postgresUrl ? { postgresUrl: cfg.storage.postgresUrl } : {}),
  });
  const { backend, barrier } = store;
  // rows rolled back while this node was down are logged as tamper lines and fail on every read
  const rollback = await startRollbackGuard(barrier, cfg.dataDir);
  let edge: Edge | undefined;
  let proxySetup: ProxySetup | undefined;
  let metricsListener: MetricsListener | undefined;
  let alarmsSetup: AlarmsSetup | undefined;
  try {
    const iam = new IamService({ barrier, accountId: cfg.accountId, region: cfg.region, ...(opts.clock ? { clock: opts.clock } : {}) });
    const fixed = cfg.devAccessKeyId && cfg.devSecretAccessKey ? { accessKeyId: cfg.devAccessKeyId, secretAccessKey: cfg.devSecretAccessKey } : undefined;
    const bootstrap = await iam.bootstrap(fixed);
    const kms = new KmsService({
      barrier, region: cfg.region, accountId: cfg.accountId, iam, unsafeSkipAuthorization: opts.unsafeNoAuth === true,
      onDemandRotationLimit: cfg.kms.onDemandRotationLimit,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    let onSecretsJob: ((e: JobEvent) => void) | null = null; // bound once the audit log is open
    let onMetricsJob: ((e: JobEvent) => void) | null = null; // bound once the collectors exist
    // the registry also feeds the metric alarms (docs/ALARMS.md); served only with metrics.listen
    const alarmsOn = cfg.alarms?.enabled !== false;
    const metrics = cfg.metrics?.listen || alarmsOn ? new Metrics({ processMetrics: Boolean(cfg.metrics?.listen) }) : undefined;
    const jobs = new JobEngine({
      barrier,
      // Rotation and deletion jobs drop the key from this node's cache at once and report KeyEvents.
      worker: { onEvent: (e) => { kms.lifecycle.onJobEvent(e); onSecretsJob?.(e); onMetricsJob?.(e); } },
      ...(opts.clock ? { clock: { now: opts.clock } } : {}),
    });
    // the database servers the built-in rotation strategies connect to over TLS may use this CA
    if (cfg.secrets?.rotationCaFile) setDatabaseTrust([readRotationCa(cfg.secrets.rotationCaFile)]);
    const secrets = new SecretsService({
      barrier, kms, region: cfg.region, accountId: cfg.accountId, unsafeSkipAuthorization: opts.unsafeNoAuth === true,
      strategies: opts.secretStrategies ?? BUILTIN_STRATEGIES,
      webhooks: { allowHttpLoopback: cfg.secrets?.webhookHttpLoopback === true },
      ...(cfg.secrets?.switchWaitMs !== undefined ? { switchWaitMs: cfg.secrets.switchWaitMs } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    const audit = await openAuditLog(cfg, barrier, opts.clock);
    edge = await openEdge(cfg, barrier, audit, nodeIdFor(cfg), opts.clock);
    const edgeOpen = edge;
    // the proxy (docs/PROXY.md, "Wiring"): before the app, which serves /v1/proxy for it
    proxySetup = await openProxy({ cfg, barrier, secrets, iam, audit, certs: edge.certs, log: (m) => process.stderr.write(`rekey: ${m}\n`) });
    const proxyOpen = proxySetup;
    // database instances (docs/DATABASES.md): registers the db.* job kinds before jobs.start(); its
    // warnings go to the app's log once the app exists
    let dbWarn = (m: string): void => { process.stderr.write(`rekey: ${m}\n`); };
    // MariaDB keys (docs/MARIADB.md): Vault KV v2 subset + admin routes; a KMS rotation adds versions
    const keyserve = new KeyserveService({ barrier, kms, iam, audit, region: cfg.region, accountId: cfg.accountId, ...(opts.clock ? { clock: opts.clock } : {}), log: (m) => dbWarn(m) });
    // encrypted mariadb instances read their keys from this server (known once it listens)
    let keyserveUrl = '';
    const keyserveEndpoint = () => ({ url: keyserveUrl, ...(edge?.caBundlePath ? { caFile: edge.caBundlePath } : {}) });
    const databases = openDatabases({ barrier, kms, secrets, jobs, audit, region: cfg.region, accountId: cfg.accountId, dataDir: cfg.dataDir, ...(cfg.db ? { config: cfg.db } : {}), ...(opts.clock ? { clock: opts.clock } : {}), log: (m) => dbWarn(m), keyserve: { keyserve, endpoint: keyserveEndpoint } });
    const scope = { region: cfg.region, accountId: cfg.accountId };
    // compliance rules and reports (docs/COMPLIANCE.md): read-only over the state; its job kind registers below
    const compliance = openCompliance({ cfg, barrier, ports: compliancePorts({ cfg, db: opts.db ?? databases.service, certs: edge.certs, tls: edge.tls !== undefined }), ...(opts.clock ? { clock: opts.clock } : {}) });
    // incident response (docs/INCIDENTS.md): durable jobs over keys and what they protect (secrets,
    // instances' volume keys and snapshots' keys, MariaDB keyrings), the proxy's sessions
    const incidents = new IncidentService({
      barrier, kms, iam, secrets, audit, region: cfg.region, accountId: cfg.accountId,
      holders: [
        dbKeyHolder(databases.core),
        keyserveKeyHolder({ barrier, kms, keyserve, audit, region: cfg.region, accountId: cfg.accountId, clock: opts.clock ?? (() => new Date()) }),
      ],
      signer: () => DigestSigner.loadOrCreate(barrier),
      ...(proxyOpen ? { endProxySessions: (secret: { arn: string; name: string }) => Promise.resolve(proxyOpen.proxy.endSessions([secret.arn, secret.name])) } : {}),
    }, opts.clock ?? (() => new Date()));
    // alarms (docs/ALARMS.md): audit events observed, metrics read from the registry, notify jobs
    alarmsSetup = alarmsOn ? openAlarms({ cfg, barrier, jobs, audit, ...(metrics ? { metrics } : {}), ...(opts.clock ? { clock: opts.clock } : {}), log: (m) => dbWarn(m) }) : undefined;
    const alarmsOpen = alarmsSetup;
    const app = await buildApp({
      ...(proxySetup ? { proxy: proxySetup.proxy } : {}),
      limits: cfg.http, quotas: edge.quotas, ...(edge.tls ? { tls: edge.tls } : {}),
      jobs, audit,
      // the RDS Query API over the instances (tests may pass src/rds/testing.ts's double)
      queryServices: [rdsQueryService({ db: opts.db ?? databases.service, iam })],
      region: cfg.region, bodyLimitBytes: cfg.http.bodyLimitBytes, iam, logLevel: cfg.logLevel, version: VERSION,
      ...(opts.unsafeNoAuth ? { unsafeUnauthenticated: noAuthIdentity(cfg.accountId) } : {}),
      ...(opts.unsafeNoAudit ? { unsafeNoAudit: true } : {}),
      ...(metrics ? { observe: metrics.observe.bind(metrics) } : {}),
      // the services' own methods (bound, not wrapped): wiring runs at start-up, never on a request's path
      services: [
        { targetPrefix: 'TrentService', signingName: 'kms', auditName: 'kms', call: kms.call.bind(kms) },
        { targetPrefix: 'secretsmanager', signingName: 'secretsmanager', auditName: 'secretsmanager', call: secrets.call.bind(secrets) },
      ],
      adminRoutes: [
        ...kmsAdminRoutes(kms, cfg.accountId),
        ...kmsLifecycleRoutes(kms.lifecycle.admin(), scope),
        ...webhookRoutes(secrets.webhooks, scope),
        ...certsRoutes(edge.certs, scope),
        ...dbAdminRoutes(databases, scope), // rekey db change-key
        // rekey jobs ls --upcoming
        ...upcomingRoutes({ keys: (o) => kms.lifecycle.upcoming(o), secrets: (o) => secrets.upcoming(o), clock: opts.clock ?? (() => new Date()) }, scope),
        ...complianceRoutes(compliance, barrier, scope), // rekey compliance report
        ...incidentRoutes(incidents, scope), // rekey incident compromised-key|compromised-credentials
        ...keyserveRoutes(keyserve), // rekey keyserve, rekey db mariadb-config
        ...(alarmsOpen ? alarmRoutes(alarmsOpen.service, scope) : []), // rekey alarms
      ],
    });
    dbWarn = (m) => app.log.warn(m);
    registerVaultKv(app, { keyserve, audit, region: cfg.region, accountId: cfg.accountId });
    kms.lifecycle.addKeyEventListener((e) => {
      if (e.type === 'RotateKey') void keyserve.syncKmsKey(e.keyId).catch((err: unknown) => app.log.error(`keyserve: sync after rotation of ${e.keyId}: ${err instanceof Error ? err.name : 'error'}`));
    });
    // on-demand rotations have no key event: a periodic sweep (and every read of a latest version) catches them
    const keyserveTimer = setInterval(() => void keyserve.syncAll(), 30_000);
    keyserveTimer.unref();
    // Key lifecycle (docs/ROTATION.md): kms.rotate / kms.delete kinds and their schedule sources.
    kms.lifecycle.register(jobs);
    await kms.lifecycle.reindex();
    // Secret rotation and deletion jobs (docs/SECRETS.md) and the rotation-webhook admin API.
    secrets.register(jobs);
    compliance.register(jobs); // the scheduled compliance.evaluate job
    incidents.register(jobs); // incident.compromised-key, incident.compromised-credentials
    const secretsAudit = secretsJobHook(audit, cfg.region, cfg.accountId, (m) => app.log.error(m));
    onSecretsJob = (e) => { secretsAudit(e); secrets.rotation.onJobEvent(e); proxyOpen?.onJobEvent(e); };
    kms.lifecycle.addKeyEventListener(keyEventHook(audit, cfg.region, cfg.accountId, (m) => app.log.error(m)));
    await edge.attach(app, (m) => app.log.error(m));
    // metrics (docs/METRICS.md): read from the domains at scrape, on their own listener
    if (metrics) {
      onMetricsJob = registerCollectors(metrics, {
        keyUse: () => kms.lifecycle.usage.localUse(), jobs, audit, db: opts.db ?? databases.service,
        complianceFindings: async () => (await latestEvaluation(barrier))?.byRule ?? null,
        ...(edge.certs ? { certs: edge.certs } : {}), ...(proxyOpen ? { proxy: proxyOpen.proxy } : {}), ...(opts.clock ? { clock: opts.clock } : {}),
      });
      if (cfg.metrics?.listen) metricsListener = await startMetricsListener(metrics, parseListen(cfg.metrics.listen), (m) => app.log.warn(m));
    }
    await app.listen({ host: cfg.host, port: cfg.port });
    const listening = app.server.address();
    const localHost = ['0.0.0.0', '::', ''].includes(cfg.host) ? '127.0.0.1' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
    keyserveUrl = `${edge.tls ? 'https' : 'http'}://${localHost}:${typeof listening === 'object' && listening ? listening.port : cfg.port}`;
    jobs.start();
    await databases.start();
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
    const hostForUrl = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
    let closed = false;
    const result: RunningServer = {
      app, url: `${edge.tls ? 'https' : 'http'}://${hostForUrl}:${port}`, port, backend, barrier, kms, iam, jobs, secrets, audit, bootstrap, db: databases, keyserve, incidents,
      quotas: edge.quotas, ...(edge.certs ? { certs: edge.certs } : {}), ...(proxyOpen ? { proxy: proxyOpen.proxy } : {}), ...(edge.caBundlePath ? { caBundlePath: edge.caBundlePath } : {}),
      ...(store.warning ? { warning: store.warning } : {}),
      ...(metrics && metricsListener ? { metrics: { registry: metrics, url: metricsListener.url } } : {}),
      ...(alarmsOpen ? { alarms: alarmsOpen.service } : {}),
      rollbackAtStart: rollback.rolledBack,
      async close() {
        if (closed) return;
        closed = true;
        await metricsListener?.close();
        clearInterval(keyserveTimer);
        await proxyOpen?.close(); // clients first (57P01), while secrets and the audit log still work
        await app.close();
        await edgeOpen.close();
        await jobs.stop();
        await alarmsOpen?.close(); // before the audit log: a transition in flight is recorded
        await databases.close(); // after the jobs: no db job is mid-step
        await kms.lifecycle.close(); // flushes usage-budget tallies
        await audit.close();
        kms.close();
        await rollback.guard.flush();
        await backend.close();
        barrier.seal();
      },
    };
    return result;
  } catch (e) {
    await metricsListener?.close().catch(() => {});
    await alarmsSetup?.close().catch(() => {});
    await proxySetup?.close().catch(() => {});
    await edge?.close().catch(() => {});
    await backend.close().catch(() => {});
    barrier.seal();
    throw e;
  }
}
