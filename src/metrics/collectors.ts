// The series read from the domains at scrape time (docs/METRICS.md lists them). Each reads state its
// domain already keeps (pool metrics, audit stats, certificate dates, job indexes, instance records,
// this node's key usage); only job transitions are counted here, from the job engine's events.
import type { AuditLog } from '../audit/index.ts';
import type { CertService } from '../certs/service.ts';
import type { DbService } from '../db/api.ts';
import type { JobsAdmin } from '../jobs/engine.ts';
import { JobState, type JobStateName } from '../jobs/model.ts';
import type { JobEvent } from '../jobs/runner.ts';
import type { LocalUse } from '../kms/lifecycle/usage.ts';
import type { ProxyService } from '../proxy/service.ts';
import type { Metrics } from './registry.ts';

export interface MetricSources {
  /** This node's encryptions per key material version (src/kms/lifecycle/usage.ts UsageMeter.localUse). */
  keyUse(): Iterable<Readonly<LocalUse>>;
  jobs: Pick<JobsAdmin, 'list'>;
  audit: Pick<AuditLog, 'stats' | 'queued'>;
  certs?: Pick<CertService, 'expiries'>;
  proxy?: Pick<ProxyService, 'status' | 'counters'>;
  db?: Pick<DbService, 'list'>;
  /** Findings of the latest scheduled compliance evaluation, by rule (src/compliance/job.ts); null before the first. */
  complianceFindings?: () => Promise<Record<string, number> | null>;
  clock?: () => Date;
}

/** Jobs read per state at a scrape (queued and running only: finished jobs are history, counted by events). */
const SCRAPE_JOBS_MAX = 5000;

/** Registers every collect-on-scrape series; returns the job-event hook (the engine's onEvent calls it). */
export function registerCollectors(m: Metrics, src: MetricSources): (e: JobEvent) => void {
  const now = () => (src.clock ?? (() => new Date()))().getTime();

  // ---- KMS: key usage per key and material version (this node, since it started)
  m.counterFrom('rekey_kms_key_encryptions_total', 'Encryptions (Encrypt, GenerateDataKey*, ReEncrypt to the key) on this node, by key and key material version.',
    ['key_id', 'material_id'], (set) => {
      for (const u of src.keyUse()) set({ key_id: u.keyId, material_id: u.materialId }, u.encryptions);
    });
  m.counterFrom('rekey_kms_key_encrypted_bytes_total', 'Plaintext bytes encrypted on this node, by key and key material version.',
    ['key_id', 'material_id'], (set) => {
      for (const u of src.keyUse()) set({ key_id: u.keyId, material_id: u.materialId }, u.bytes);
    });

  // ---- jobs: what is waiting or running now, by kind (every node sees the same store)
  m.gauge('rekey_jobs', 'Jobs queued or running now, by kind and state (read from the store at scrape).', ['kind', 'state'], async (set) => {
    for (const state of [JobState.queued, JobState.running] as JobStateName[]) {
      const counts = new Map<string, number>();
      let after: string | undefined;
      let seen = 0;
      do {
        const page = await src.jobs.list({ state, limit: 1000, ...(after !== undefined ? { after } : {}) });
        for (const j of page.jobs) counts.set(j.kind, (counts.get(j.kind) ?? 0) + 1);
        seen += page.jobs.length;
        after = page.next;
      } while (after !== undefined && seen < SCRAPE_JOBS_MAX);
      for (const [kind, n] of counts) set({ kind, state }, n);
    }
  });
  const jobEvents = m.counter('rekey_job_events_total', 'Job transitions seen by this node\'s worker, by kind and event (succeeded, failed, retrying, takeover, lost).', ['kind', 'event']);
  const rotations = m.counter('rekey_secret_rotations_total', 'Secret rotations finished on this node, by strategy (the rotation function\'s name) and outcome (succeeded, failed).', ['strategy', 'outcome']);

  // ---- audit: group commit and sinks
  m.counterFrom('rekey_audit_events_total', 'Audit events written to the durable sinks by this node.', [], (set) => set({}, src.audit.stats.events));
  m.counterFrom('rekey_audit_batches_total', 'Group-commit batches written (events / batches = the mean batch size).', [], (set) => set({}, src.audit.stats.batches));
  m.counterFrom('rekey_audit_refused_events_total', 'Events no durable sink accepted: their calls were refused (InternalFailure).', [], (set) => set({}, src.audit.stats.refused));
  m.counterFrom('rekey_audit_sink_failures_total', 'Failed writes, by sink (store, file:<path>, syslog:<host:port>, stdout) or stage (recover, digest).', ['sink'], (set) => {
    for (const [sink, n] of Object.entries(src.audit.stats.sinkFailures)) set({ sink }, n);
  });
  m.gauge('rekey_audit_queue_events', 'Events appended and not yet written to a durable sink (the sink lag, in events).', [], (set) => set({}, src.audit.queued));

  // ---- certificates
  if (src.certs) {
    const certs = src.certs;
    m.gauge('rekey_certificate_expiry_seconds', 'Seconds until the certificate expires (negative: expired), by certificate (server, ca).', ['certificate'], (set) => {
      const e = certs.expiries();
      if (e.server) set({ certificate: 'server' }, (e.server.getTime() - now()) / 1000);
      if (e.ca) set({ certificate: 'ca' }, (e.ca.getTime() - now()) / 1000);
    });
  }

  // ---- proxy
  if (src.proxy) {
    const proxy = src.proxy;
    type PoolKey = 'active' | 'idle' | 'connecting' | 'waiting';
    m.gauge('rekey_proxy_pool_connections', 'Server connections of each pool, by target, database, user and state (active, idle, connecting).', ['target', 'database', 'user', 'state'], (set) => {
      for (const t of proxy.status()) for (const p of t.pools) for (const state of ['active', 'idle', 'connecting'] as PoolKey[]) set({ target: t.name, database: p.database, user: p.user, state }, p[state]);
    });
    m.gauge('rekey_proxy_pool_waiting_clients', 'Clients waiting for a server connection now, by target, database and user.', ['target', 'database', 'user'], (set) => {
      for (const t of proxy.status()) for (const p of t.pools) set({ target: t.name, database: p.database, user: p.user }, p.waiting);
    });
    m.counterFrom('rekey_proxy_pool_waits_total', 'Borrows that had to wait for a server connection.', ['target', 'database', 'user'], (set) => {
      for (const t of proxy.status()) for (const p of t.pools) set({ target: t.name, database: p.database, user: p.user }, p.waits);
    });
    m.counterFrom('rekey_proxy_pool_wait_seconds_total', 'Time clients waited for a server connection, in total.', ['target', 'database', 'user'], (set) => {
      for (const t of proxy.status()) for (const p of t.pools) set({ target: t.name, database: p.database, user: p.user }, p.waitMsTotal / 1000);
    });
    m.counterFrom('rekey_proxy_pool_borrow_timeouts_total', 'Clients refused because no server connection came within borrowTimeoutMs (53300).', ['target', 'database', 'user'], (set) => {
      for (const t of proxy.status()) for (const p of t.pools) set({ target: t.name, database: p.database, user: p.user }, p.borrowTimeouts);
    });
    m.counterFrom('rekey_proxy_upstream_login_failures_total', 'Failed logins to the database (after the retry with re-read credentials), by target and reason (auth, connect, server, credentials).', ['target', 'reason'], (set) => {
      for (const c of proxy.counters()) for (const [reason, n] of Object.entries(c.loginFailures)) set({ target: c.target, reason }, n ?? 0);
    });
    m.counterFrom('rekey_proxy_client_authentications_total', 'Client authentications at the proxy, by target and outcome (succeeded, failed).', ['target', 'outcome'], (set) => {
      for (const c of proxy.counters()) {
        set({ target: c.target, outcome: 'succeeded' }, c.clientAuthSucceeded);
        set({ target: c.target, outcome: 'failed' }, c.clientAuthFailed);
      }
    });
    m.gauge('rekey_proxy_clients', 'Client connections open now, by target.', ['target'], (set) => {
      for (const t of proxy.status()) set({ target: t.name }, t.clients);
    });
    m.gauge('rekey_proxy_paused', '1 while the target is paused (a cutover in progress), else 0.', ['target'], (set) => {
      for (const t of proxy.status()) set({ target: t.name }, t.paused ? 1 : 0);
    });
    m.gauge('rekey_proxy_cutover_stall_seconds', 'The longest a client waited during a pause: the last resumed pause (last) and since start (max).', ['target', 'which'], (set) => {
      for (const t of proxy.status()) {
        set({ target: t.name, which: 'last' }, t.lastStallMs / 1000);
        set({ target: t.name, which: 'max' }, t.longestStallMs / 1000);
      }
    });
    m.counterFrom('rekey_proxy_switches_total', 'Upstream switches (cutovers), by target.', ['target'], (set) => {
      for (const t of proxy.status()) set({ target: t.name }, t.switches);
    });
  }

  // ---- database instances
  if (src.db) {
    const db = src.db;
    m.gauge('rekey_db_instances', 'Database instances by status (available, stopped, inaccessible-encryption-credentials, ...).', ['status'], async (set) => {
      const counts = new Map<string, number>();
      let after: string | undefined;
      do {
        const page = await db.list({ limit: 100, ...(after !== undefined ? { after } : {}) });
        for (const i of page.instances) counts.set(i.status, (counts.get(i.status) ?? 0) + 1);
        after = page.next;
      } while (after !== undefined);
      for (const [status, n] of counts) set({ status }, n);
    });
  }

  // ---- compliance: the latest scheduled evaluation's findings (docs/COMPLIANCE.md), what the built-in alarm watches
  const findings = src.complianceFindings;
  if (findings) {
    m.gauge('rekey_compliance_findings', 'Findings of the latest scheduled compliance evaluation, by rule (read from the store at scrape).', ['rule'], async (set) => {
      for (const [rule, n] of Object.entries((await findings()) ?? {})) set({ rule }, n);
    });
  }

  return (e) => {
    if (e.type === 'succeeded' || e.type === 'failed' || e.type === 'retrying' || e.type === 'takeover' || e.type === 'lost') jobEvents({ kind: e.job.kind, event: e.type });
    if (e.job.kind === 'secrets.rotate' && (e.type === 'succeeded' || e.type === 'failed')) {
      const fn = /:function:([A-Za-z0-9_-]{1,64})(?::[^:]*)?$/.exec(String((e.job.data as { lambdaArn?: unknown } | undefined)?.lambdaArn ?? ''))?.[1];
      if (fn) rotations({ strategy: fn, outcome: e.type });
    }
  };
}
