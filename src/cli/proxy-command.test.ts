import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { proxyRoutes } from '../http/admin-proxy.ts';
import { adminTestApp } from '../http/testing.ts';
import { TestClock, testIam } from '../iam/testing.ts';
import { validateTargets } from '../proxy/config.ts';
import { ProxyService } from '../proxy/service.ts';
import { registerProxyCommands } from './proxy-command.ts';

let proxy: ProxyService;
let app: FastifyInstance;
let endpoint: string;
let env: Record<string, string>;

before(async () => {
  proxy = new ProxyService({
    secrets: { current: async () => ({ versionId: 'v', username: 'app', password: 'x' }), previous: async () => undefined, onRotated: () => () => {} },
    targets: validateTargets([{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 5432 }, secretIds: ['s'], mode: 'transaction' }]),
  });
  await proxy.start();
  // the CLI signs with the real time
  const t = await testIam({ clock: { now: () => new Date() } as TestClock });
  env = { AWS_ACCESS_KEY_ID: t.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: t.admin.secretAccessKey };
  app = (await adminTestApp(t, proxyRoutes(proxy, { region: t.iam.region, accountId: t.iam.accountId }))).app;
  endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await proxy?.close();
});

async function rekey(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command().exitOverride();
  registerProxyCommands(program, undefined, { out: (t) => (out += t), env });
  await program.parseAsync(['node', 'rekey', 'proxy', '--endpoint', endpoint, ...args]);
  return out;
}

test('rekey proxy pause / switch / resume / status against the admin API', async () => {
  assert.match(await rekey('pause', 'app', '--timeout-ms', '1000'), /^app: paused \(in-flight transactions finished in \d+ ms\)\n$/);
  assert.equal(await rekey('switch', 'app', '127.0.0.1:6000'), 'app: now -> 127.0.0.1:6000 (generation 1); resume to release held transactions\n');
  assert.match(await rekey('resume', 'app'), /^app: resumed after \d+ ms \(longest client stall of this pause 0 ms\)\n$/);
  assert.match(await rekey('status'), /^app {2}transaction {2}127\.0\.0\.1:\d+ -> 127\.0\.0\.1:6000 {2}running {2}clients 0 {2}generation 1/);
  const json = JSON.parse(await rekey('status', '--json'));
  assert.equal(json.targets[0].upstream.port, 6000);
  assert.match(await rekey('cutover', 'app', '127.0.0.1:6002', '--timeout-ms', '1000'), /^app: 127\.0\.0\.1:6000 -> 127\.0\.0\.1:6002 \(generation 2\); drained in \d+ ms, paused \d+ ms, longest client stall 0 ms\n$/);
  assert.equal(proxy.status()[0]!.paused, false);
});

test('rekey proxy: server errors come back typed; bad arguments are ConfigurationErrors', async () => {
  await assert.rejects(rekey('switch', 'app', '127.0.0.1:6001'), { name: 'ValidationException', message: 'switch needs a paused target (pause first)' });
  await assert.rejects(rekey('resume', 'nope'), { name: 'NotFoundException', message: 'proxy target nope does not exist' });
  await assert.rejects(rekey('switch', 'app', 'no-port'), { name: 'ConfigurationError', message: 'endpoint must be host:port' });
  await assert.rejects(rekey('cutover', 'app', 'no-port'), { name: 'ConfigurationError', message: 'endpoint must be host:port' });
  await assert.rejects(rekey('cutover', 'nope', '127.0.0.1:6003'), { name: 'NotFoundException', message: 'proxy target nope does not exist' });
  await assert.rejects(rekey('pause', 'app', '--timeout-ms', '0'), { name: 'ConfigurationError', message: '--timeout-ms must be an integer from 1 to 3600000' });
});
