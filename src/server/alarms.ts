// Alarms wiring (docs/ALARMS.md): the AlarmService over the barrier, the job engine and the audit log;
// its metric port reads this server's Prometheus registry; notifications go out as signed webhooks
// or through the audit syslog sink's transport.
import type { Config } from '../config/config.ts';
import type { AuditLog } from '../audit/index.ts';
import { SyslogSink } from '../audit/sinks/syslog.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { Barrier } from '../storage/barrier.ts';
import type { Metrics } from '../metrics/registry.ts';
import { AlarmService, type MetricReader } from '../alarms/service.ts';
import { webhookSender } from '../alarms/notify.ts';

export interface AlarmsSetup {
  service: AlarmService;
  close(): Promise<void>;
}

/**
 * The registry's current series of one metric (collect-on-scrape gauges and counters are read anew).
 * A histogram is read through its exposition names: <name>_count, <name>_sum, <name>_bucket (with `le`).
 */
export function registryReader(metrics: Metrics): MetricReader {
  return {
    async read(name) {
      let m = metrics.registry.getSingleMetric(name);
      let part: string | undefined;
      const base = name.replace(/_(count|sum|bucket)$/, '');
      if (!m && base !== name) {
        m = metrics.registry.getSingleMetric(base);
        part = name;
      }
      if (!m) return null;
      const data = await m.get();
      // a histogram's values carry their exposition name (metricName: <name>_bucket, ...), which prom-client's types omit
      return (data.values as (typeof data.values[number] & { metricName?: string })[])
        .filter((v) => (part ? v.metricName === part : v.metricName === undefined || v.metricName === name))
        .map((v) => ({ labels: { ...v.labels } as Record<string, string | number>, value: v.value }));
    },
  };
}

export function openAlarms(o: { cfg: Readonly<Config>; barrier: Barrier; jobs: JobEngine; audit: AuditLog; metrics?: Metrics; clock?: () => Date; log: (m: string) => void }): AlarmsSetup {
  const loopback = o.cfg.alarms?.webhookHttpLoopback === true;
  const service = new AlarmService({
    barrier: o.barrier, jobs: o.jobs, audit: o.audit, region: o.cfg.region, accountId: o.cfg.accountId,
    targets: { allowHttpLoopback: loopback }, log: o.log,
    ...(o.metrics ? { metrics: registryReader(o.metrics) } : {}), ...(o.clock ? { clock: o.clock } : {}),
  });
  const syslogs = new Map<string, SyslogSink>();
  service.register({
    webhook: webhookSender({ allowHttpLoopback: loopback, ...(o.clock ? { clock: o.clock } : {}) }),
    async syslog(t, body, state) {
      const key = `${t.host}:${t.port}`;
      let sink = syslogs.get(key);
      if (!sink) syslogs.set(key, (sink = new SyslogSink({ host: t.host, port: t.port, onError: (e) => o.log(`alarms: syslog ${key}: ${e.message}`) })));
      sink.send('alarm', state === 'ALARM' ? 4 : 5, body); // warning / notice
    },
  });
  const unobserve = o.audit.observe((records) => service.onRecords(records));
  const timer = setInterval(() => void service.evaluate().catch((e: unknown) => o.log(`alarms: evaluation failed: ${e instanceof Error ? e.message : String(e)}`)), (o.cfg.alarms?.evaluationSeconds ?? 60) * 1000);
  timer.unref();
  return {
    service,
    async close() {
      clearInterval(timer);
      unobserve();
      await service.settled().catch(() => undefined);
      await Promise.allSettled([...syslogs.values()].map((s) => s.close()));
    },
  };
}
