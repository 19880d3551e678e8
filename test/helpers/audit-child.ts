// An audit log in a child process that a test kills between its two durable sinks
// (test/audit-gap.test.ts). AUDIT_DIR: data directory (SQLite store, dev root key) holding
// audit.jsonl; AUDIT_HANG: 'file' or 'store', the sink whose write of seq AUDIT_HANG_AT never
// finishes. Prints "committed <seq>" once the OTHER sink has that batch durably, then waits to be
// killed with SIGKILL.
import { join } from 'node:path';
import { AuditLog, FileSink, StoreSink, type AuditSink, type SinkBatch } from '../../src/audit/index.ts';
import { sampleEvent } from '../../src/audit/testing.ts';
import { openStore } from '../../src/storage/open.ts';

const dir = process.env['AUDIT_DIR']!;
const hang = process.env['AUDIT_HANG'];
const hangAt = Number(process.env['AUDIT_HANG_AT']);
const store = await openStore({ backend: 'sqlite', dataDir: dir, rootKey: { source: 'dev' } });

function wrap(inner: AuditSink, hangs: boolean): AuditSink {
  return {
    name: inner.name,
    durable: inner.durable,
    recover: (node) => inner.recover!(node),
    close: () => inner.close(),
    async write(batch: SinkBatch) {
      const seq = batch.records[0]?.seq;
      if (seq === hangAt && hangs) return new Promise<void>(() => undefined);
      await inner.write(batch);
      if (seq === hangAt) process.stdout.write(`committed ${seq}\n`);
    },
  };
}

const sinks = [wrap(new StoreSink(store.barrier), hang === 'store'), wrap(new FileSink({ path: join(dir, 'audit.jsonl') }), hang === 'file')];
const log = await AuditLog.open({ node: 'n1', barrier: store.barrier, sinks, digestPeriodMs: 0 });
for (let i = 1; i <= hangAt; i++) {
  const done = log.append(sampleEvent(i));
  if (i < hangAt) await done;
}
setInterval(() => undefined, 1000); // wait for the SIGKILL
