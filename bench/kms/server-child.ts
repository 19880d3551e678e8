// A rekey server in its own process for benchmarks; reports its port to the parent over IPC.
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/server.ts';

const s = await startServer(loadConfig());
process.send?.({ port: s.port });
process.on('SIGTERM', () => { void s.close().then(() => process.exit(0)); });
