// Runs the whole suite with Node's built-in test runner (Node 20 has no glob support in --test).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
// The slowest files first (per-file test time from a CI run, 2026-12-07), the rest alphabetically:
// with two files at a time, a long file started last leaves one core idle while it finishes
// (longest-processing-time-first packing). A file missing from the list only runs later.
const SLOW_FIRST = [
  'src/kms/lifecycle/simulation.test.ts', 'test/proxy-e2e.test.ts', 'src/jobs/crash.test.ts',
  'test/db-change-key-crash.test.ts', 'test/cli.test.ts', 'test/proxy-wiring.test.ts',
  'test/secrets-db-rotation-postgres.test.ts', 'src/jobs/scale.test.ts', 'test/db-replicas.test.ts',
  'src/secrets/strategies/mysql-alternating-users.test.ts', 'src/kms/lifecycle/crash.test.ts',
  'test/incident-crash.test.ts', 'test/mariadb-rds.test.ts',
  'test/ca-rotation.test.ts', 'test/db-snapshot-crash.test.ts', 'test/proxy-decoupled.test.ts', 'test/incident.test.ts',
  'test/console-browser.test.ts',
  'test/certs-admin.test.ts', 'test/demo.test.ts', 'test/aws-cli-tls.test.ts',
];
const only = process.argv.slice(2);
const all = [...find('src', []), ...find('test', [])].sort();
const files = only.length > 0 ? only : [...SLOW_FIRST.filter((f) => all.includes(f)), ...all.filter((f) => !SLOW_FIRST.includes(f))];
// Three files at a time on two cores: a file spends ~1.5 s of CPU loading its modules before its
// first test (not counted in test durations), and many tests wait on servers, timers and child
// processes. Clean-clone .ci/run here, 1,155 tests: two at a time 965 s, three at a time 514 s
// (2026-12-07). REKEY_TEST_CONCURRENCY overrides.
const concurrency = Number(process.env.REKEY_TEST_CONCURRENCY ?? 3);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
