// A rekey server in a child process for database crash tests (test/db-crash.test.ts): like
// server-child.ts, plus IPC calls into the DbService ({ type: 'db', n, method, args } ->
// { type: 'db-result', n, result } | { ..., error: { name, message } }), as the account root.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/server/start.ts';
import type { Identity } from '../../src/iam/identity.ts';
import { changeKeyProbe } from '../../src/db/change-key.ts';
import { replicaProbe } from '../../src/db/read-replicas.ts';

// test/db-change-key-crash.test.ts: REKEY_TEST_CRASH_AT=<point> kills this node at that point of a change-key
const crashAt = process.env['REKEY_TEST_CRASH_AT'];
if (crashAt) changeKeyProbe.at = (point) => { if (point === crashAt) process.kill(process.pid, 'SIGKILL'); };
// test/db-replicas.test.ts: the same, at a point of the read-replica jobs (src/db/read-replicas.ts)
if (crashAt) replicaProbe.at = changeKeyProbe.at;

let offset = 0;
const cfg = loadConfig({ dataDir: process.env['REKEY_TEST_CHILD_DATA_DIR'] ?? mkdtempSync(join(tmpdir(), 'rekey-node-')), port: 0 });
const s = await startServer(cfg, { clock: () => new Date(Date.now() + offset) });
const root = { accountId: cfg.accountId, arn: `arn:aws:iam::${cfg.accountId}:root`, accessKeyId: 'test', type: 'Root', principalId: cfg.accountId, identityPolicies: [] } as unknown as Identity;
const ctx = { caller: root, requestId: 'crash-test', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'test' };
process.on('message', (m: { type?: string; ms?: number; n?: number; method?: string; args?: unknown[] }) => {
  if (m?.type === 'offset' && typeof m.ms === 'number') {
    offset = m.ms;
    process.send?.({ type: 'offset-set' });
  }
  if (m?.type === 'db') {
    const svc = s.db.service as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    // 'jobs': the job list, for a failing test's message
    const call = m.method === 'jobs' ? s.jobs.list({})
      : m.method === 'changeKey' ? s.db.changeKey(String(m.args?.[0]), String(m.args?.[1]), ctx) // `rekey db change-key`
        : m.method === 'createKey' ? s.kms.call('CreateKey', {}, root, {}) : svc[m.method!]!.call(s.db.service, ...(m.args ?? []), ctx);
    call.then(
      (result) => process.send?.({ type: 'db-result', n: m.n, result }),
      (e: Error) => process.send?.({ type: 'db-result', n: m.n, error: { name: e.name, message: e.message } }),
    );
  }
});
process.on('SIGTERM', () => {
  void s.close().then(() => process.exit(0));
});
process.send?.({ type: 'ready', url: s.url });
