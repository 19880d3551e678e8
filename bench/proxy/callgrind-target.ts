// One rekey proxy target for bench/proxy/callgrind.ts, run under valgrind: REKEY_SRC (a checkout's
// directory: this one or BENCH_BASELINE), MODE (session | transaction), PGPORT, APP_PASSWORD.
// Prints "PORT <n>" when it listens.
import { join } from 'node:path';
import { TestSecretSource } from '../../test/helpers/proxy.ts';

async function main(): Promise<void> {
  const dir = process.env.REKEY_SRC!;
  const service = (await import(join(dir, 'src/proxy/service.ts'))) as typeof import('../../src/proxy/service.ts');
  const config = (await import(join(dir, 'src/proxy/config.ts'))) as typeof import('../../src/proxy/config.ts');
  const secrets = new TestSecretSource();
  secrets.set('app', 'app', process.env.APP_PASSWORD!);
  const mode = process.env.MODE === 'transaction' ? 'transaction' : 'session';
  const proxy = new service.ProxyService({
    secrets,
    targets: config.validateTargets([{ name: 't', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: Number(process.env.PGPORT) }, secretIds: ['app'], mode, poolSize: mode === 'session' ? 64 : 16 }]),
  });
  await proxy.start();
  console.log(`PORT ${proxy.address('t').port}`);
  process.on('SIGTERM', () => process.exit(0));
}

void main();
