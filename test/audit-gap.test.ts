// Issue 17, item 4: the durable sinks are written in parallel, so a crash between them left the
// file without events the store had committed (or the other way round), and `verify --file`
// reported them missing forever, indistinguishable from deletion. A child process is SIGKILLed
// while one sink holds the batch and the other does not; the next open fills the gap from the
// sink that has it, records the fill as an audit event, and both copies verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, FileSink, StoreSink, verifyFiles } from '../src/audit/index.ts';
import { loadDigests } from '../src/audit/digest.ts';
import { sampleEvent } from '../src/audit/testing.ts';
import { openStore } from '../src/storage/open.ts';

function killBetweenSinks(dir: string, hang: 'file' | 'store', hangAt: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/audit-child.ts'], {
    env: { ...process.env, AUDIT_DIR: dir, AUDIT_HANG: hang, AUDIT_HANG_AT: String(hangAt) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child never committed: ${out} ${err}`)); }, 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(`committed ${hangAt}\n`)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && out.includes(`committed ${hangAt}`)) resolve();
      else reject(new Error(`child exited ${code} ${signal}: ${out} ${err}`));
    });
  });
}

const fileSeqs = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"seq"') && !l.startsWith('{"digest"')).map((l) => (JSON.parse(l) as { seq: number }).seq);

for (const hang of ['file', 'store'] as const) {
  test(`SIGKILL after the ${hang === 'file' ? 'store' : 'file'} committed a batch the ${hang} did not: the next start fills the ${hang} and records it`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-gap-'));
    try {
      await killBetweenSinks(dir, hang, 6);
      const path = join(dir, 'audit.jsonl');
      const store = await openStore({ backend: 'sqlite', dataDir: dir, rootKey: { source: 'dev' } });
      const storeSink = new StoreSink(store.barrier);
      if (hang === 'file') {
        assert.deepEqual(fileSeqs(path), [1, 2, 3, 4, 5], 'the kill left the file without seq 6');
        assert.equal((await storeSink.storedHead('n1'))?.seq, 6);
      } else {
        assert.deepEqual(fileSeqs(path), [1, 2, 3, 4, 5, 6]);
        assert.equal((await storeSink.storedHead('n1'))?.seq, 5, 'the kill left the store without seq 6');
      }
      const log = await AuditLog.open({ node: 'n1', barrier: store.barrier, sinks: [storeSink, new FileSink({ path })], digestPeriodMs: 0 });
      const lagging = hang === 'file' ? `file:${path}` : 'store';
      assert.deepEqual(log.stats.gapsFilled, [{ sink: lagging, source: hang === 'file' ? 'store' : `file:${path}`, fromSeq: 6, toSeq: 6 }]);
      await log.append(sampleEvent(7));
      await log.close();
      // the fill is on the trail: seq 7 records it, seq 8 is the next request
      assert.deepEqual(fileSeqs(path), [1, 2, 3, 4, 5, 6, 7, 8]);
      const filled = (await log.lookup({ eventName: 'AuditSinkGapFilled' })).events;
      assert.equal(filled.length, 1);
      assert.deepEqual(filled[0]!.event.additionalEventData, { node: 'n1', sink: lagging, source: hang === 'file' ? 'store' : `file:${path}`, fromSeq: 6, toSeq: 6 });
      assert.equal(filled[0]!.event.eventSource, 'rekey.audit');
      // both copies verify, the file also against the store's digests and head
      const v = await log.verify();
      assert.equal(v.ok, true, JSON.stringify(v.problems));
      const digests = (await loadDigests(store.barrier, 'n1')).flatMap((d) => (d.digest ? [d.digest] : []));
      const f = await verifyFiles({ path, publicKey: log.publicKey, digests, heads: { n1: (await storeSink.storedHead('n1'))! } });
      assert.equal(f.ok, true, JSON.stringify(f.problems));
      await store.backend.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
