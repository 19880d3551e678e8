// A rekey server in its own process for benchmarks; reports its port to the parent over IPC.
// REKEY_AUTH=off (with REKEY_BENCH_UNSAFE_NO_AUTH=1) starts it without authentication and
// authorization, for the auth-cost line of bench/kms/run.ts; REKEY_AUDIT=off (with
// REKEY_BENCH_UNSAFE_NO_AUDIT=1) without auditing, for the audit-cost line. Only this benchmark
// process honours them.
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/server/start.ts';
import { authSwitch } from '../../src/server/unsafe-no-auth.ts';

const s = await startServer(loadConfig(), { unsafeNoAuth: authSwitch(process.env) === 'off', unsafeNoAudit: process.env['REKEY_AUDIT'] === 'off' });
process.send?.({ port: s.port, metrics: s.metrics?.url });
process.on('SIGTERM', () => { void s.close().then(() => process.exit(0)); });
