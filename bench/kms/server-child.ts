// A rekey server in its own process for benchmarks; reports its port to the parent over IPC.
// REKEY_AUTH=off (with REKEY_BENCH_UNSAFE_NO_AUTH=1) starts it without authentication and
// authorization, for the auth-cost line of bench/kms/run.ts; only this benchmark process honours it.
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/server.ts';
import { authSwitch } from '../../src/unsafe-no-auth.ts';

const s = await startServer(loadConfig(), { unsafeNoAuth: authSwitch(process.env) === 'off' });
process.send?.({ port: s.port });
process.on('SIGTERM', () => { void s.close().then(() => process.exit(0)); });
