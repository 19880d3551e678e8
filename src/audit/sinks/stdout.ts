// Stdout sink: JSON lines for container log collectors. A forwarder, not a durable sink: bytes
// handed to a pipe are not on disk, so a request is never acknowledged on stdout's word alone.
import type { Writable } from 'node:stream';
import { type AuditSink, type SinkBatch, batchLines } from './types.ts';

export class StdoutSink implements AuditSink {
  readonly name = 'stdout';
  readonly durable = false;

  constructor(private readonly out: Writable = process.stdout) {}

  write(batch: SinkBatch): Promise<void> {
    const lines = batchLines(batch);
    if (lines.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.out.write(lines.join('\n') + '\n', (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    // stdout belongs to the process
  }
}
