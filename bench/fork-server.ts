// Benchmark servers run the way `rekey server` runs (bin/rekey.mjs): a TypeScript entry is compiled
// by scripts/build.mjs from the sources checked out (built first if they changed) and forked as
// JavaScript with source maps on; REKEY_RUNTIME=tsx forks the sources through tsx instead, as before.
// Plain .mjs scripts (bench/bare-server.mjs) fork as they are. `execArgv`: Node options besides
// these (e.g. --cpu-prof).
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiled } from '../scripts/build.mjs';

export async function forkServer(script: string, args: string[], options: Omit<ForkOptions, 'execArgv'>, execArgv: readonly string[] = []): Promise<ChildProcess> {
  if (script.endsWith('.mjs')) return fork(script, args, execArgv.length === 0 ? options : { ...options, execArgv: [...execArgv] });
  const built = await compiled(script);
  return built !== undefined
    ? fork(fileURLToPath(built), args, { ...options, execArgv: [...execArgv, '--enable-source-maps'] })
    : fork(script, args, { ...options, execArgv: [...execArgv, '--import', 'tsx'] });
}
