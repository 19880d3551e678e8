// Opens the audit trail the configuration describes: its sinks, this node's chain name, digests.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Barrier } from '../storage/barrier.ts';
import { AuditLog, StoreSink, FileSink, StdoutSink, SyslogSink, type AuditSink } from '../audit/index.ts';
import { randomBytes } from '../crypto/index.ts';

/** A stable chain name per data directory, so a restart continues the same chain. */
export function nodeIdFor(cfg: Readonly<Config>): string {
  if (cfg.nodeId) return cfg.nodeId;
  const file = join(cfg.dataDir, 'node-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = `node-${randomBytes(6).toString('hex')}`;
  mkdirSync(cfg.dataDir, { recursive: true });
  writeFileSync(file, id + '\n', { mode: 0o644 });
  return id;
}

export async function openAuditLog(cfg: Readonly<Config>, barrier: Barrier, clock?: () => Date): Promise<AuditLog> {
  const sinks: AuditSink[] = [];
  // With a file sink (fdatasync per batch) the store copy commits without its own fsync: the file is
  // the durability point, a store that lost its last batches to a power loss is refilled from the
  // file at start (gap-fill.ts), and a batch the file refused is flushed in the store before it counts.
  if (cfg.audit.store) sinks.push(new StoreSink(barrier, { relaxed: Boolean(cfg.audit.file) }));
  if (cfg.audit.file) {
    mkdirSync(dirname(cfg.audit.file), { recursive: true });
    sinks.push(new FileSink({ path: cfg.audit.file, maxBytes: cfg.audit.fileMaxBytes, maxFiles: cfg.audit.fileMaxFiles, sync: 'data' }));
  }
  if (cfg.audit.stdout) sinks.push(new StdoutSink());
  if (cfg.audit.syslog) {
    const i = cfg.audit.syslog.lastIndexOf(':');
    sinks.push(new SyslogSink({ host: cfg.audit.syslog.slice(0, i), port: Number(cfg.audit.syslog.slice(i + 1)) }));
  }
  return AuditLog.open({
    node: nodeIdFor(cfg), barrier, sinks, digestPeriodMs: cfg.audit.digestPeriodMs, region: cfg.region, accountId: cfg.accountId,
    ...(clock ? { clock } : {}),
    onSinkError: (sink) => process.stderr.write(`rekey: audit sink ${sink} failed; events continue to the other sinks\n`),
  });
}
