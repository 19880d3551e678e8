// A real rekey server in a child process, for tests with several nodes (test/kms-multinode.test.ts).
// Configured from the environment like `rekey server` (REKEY_STORAGE, REKEY_POSTGRES_URL,
// REKEY_ROOT_KEY, ...), on a random port. Its clock is the system clock plus an offset the parent
// sets over IPC ({ type: 'offset', ms }), so a test can move every node into the future at once:
// the schedules come due without anyone sleeping for months. Answers { type: 'ready', url } once
// listening and { type: 'offset-set' } after each change; SIGTERM closes it cleanly.
// REKEY_TEST_KILL_AT=<strategy>:<point> with REKEY_TEST_KILL_MARKER=<file>: the built-in rotation
// strategies with that kill point armed (test/helpers/crash-strategies.ts).
// REKEY_TEST_INCIDENT_CRASH_AT=<point>: SIGKILL at that point of an incident job (src/compliance/incident/deps.ts).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/server/start.ts';
import type { RotationStrategy } from '../../src/secrets/strategy.ts';
import { strategiesWithKillPoint, type KillPoint } from './crash-strategies.ts';
import { incidentProbe } from '../../src/compliance/incident/deps.ts';

// test/incident-crash.test.ts: REKEY_TEST_INCIDENT_CRASH_AT=<point> kills this node at that point of an incident job
const incidentCrashAt = process.env['REKEY_TEST_INCIDENT_CRASH_AT'];
if (incidentCrashAt) incidentProbe.at = (point) => { if (point === incidentCrashAt) process.kill(process.pid, 'SIGKILL'); };

let offset = 0;
// REKEY_TEST_CHILD_DATA_DIR: reuse a data directory (a node started again after a SIGKILL)
const cfg = loadConfig({ dataDir: process.env['REKEY_TEST_CHILD_DATA_DIR'] ?? mkdtempSync(join(tmpdir(), 'rekey-node-')), port: 0 });
const killAt = process.env['REKEY_TEST_KILL_AT'];
let secretStrategies: RotationStrategy[] | undefined;
if (killAt) {
  const [strategy, ...point] = killAt.split(':');
  secretStrategies = strategiesWithKillPoint(strategy!, point.join(':') as KillPoint, process.env['REKEY_TEST_KILL_MARKER']!);
}
const s = await startServer(cfg, { clock: () => new Date(Date.now() + offset), ...(secretStrategies ? { secretStrategies } : {}) });
process.on('message', (m: { type?: string; ms?: number }) => {
  if (m?.type === 'offset' && typeof m.ms === 'number') {
    offset = m.ms;
    process.send?.({ type: 'offset-set' });
  }
});
process.on('SIGTERM', () => {
  void s.close().then(() => process.exit(0));
});
process.send?.({ type: 'ready', url: s.url });
