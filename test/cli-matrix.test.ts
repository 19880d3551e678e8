// The CLI speaks one language (issue 18, item 6): every subcommand that talks to a server says the
// same one line when the server is down and when credentials are missing, exits 2, and prints no
// stack trace; its connection flags work in any position. Rows run the `rekey` program in process (src/cli/program.ts runCli: what
// bin/rekey.mjs runs; a child process per row costs ~20 s on a loaded machine); the last test runs
// the real command once in a child process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { runCli } from '../src/cli/program.ts';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';

/** One command per server-talking group, and every command that reads or changes one thing. */
const COMMANDS: string[][] = [
  ['iam', 'list-users'], ['iam', 'list-roles'],
  ['kms', 'create-key', '--administrators', 'arn:aws:iam::111122223333:root'], ['kms', 'dependents', 'k'], ['kms', 'usage-budget', 'k'],
  ['secrets', 'webhooks', 'list'],
  ['jobs', 'ls'], ['jobs', 'ls', '--upcoming'], ['jobs', 'show', '01890000-0000-7000-8000-000000000000'],
  ['proxy', 'status'], ['proxy', 'resume', 'app'],
  ['certs', 'status'], ['certs', 'rotate'],
  ['db', 'change-key', 'db1', '--kms-key-id', 'k'],
  ['alarms', 'ls'], ['alarms', 'show', 'kms-access-denied'], ['alarms', 'rm', 'a1'], ['alarms', 'target', 'ls'],
];

let closedPort = 0;
let s: TestServer;
before(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  s = await startTestServer();
});
after(async () => { await s.cleanup(); });

/** Runs one command line in process with these AWS_* variables; its exit status, stderr and stdout. */
async function cli(args: string[], creds: boolean): Promise<{ status: number | null; out: string; err: string }> {
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'], token: process.env['AWS_SESSION_TOKEN'] };
  const set = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
  set('AWS_ACCESS_KEY_ID', creds ? TEST_CREDS.accessKeyId : undefined);
  set('AWS_SECRET_ACCESS_KEY', creds ? TEST_CREDS.secretAccessKey : undefined);
  set('AWS_SESSION_TOKEN', undefined);
  let err = '';
  // stdout is not captured here (the test runner reports through it); the child-process test checks it
  try {
    const status = await runCli(['node', 'rekey', ...args], { err: (t) => { err += t; } });
    return { status, out: '', err };
  } finally {
    set('AWS_ACCESS_KEY_ID', saved.id);
    set('AWS_SECRET_ACCESS_KEY', saved.secret);
    set('AWS_SESSION_TOKEN', saved.token);
  }
}

function oneLine(args: string[], r: { status: number | null; out: string; err: string }, want: string): void {
  const where = `rekey ${args.join(' ')}`;
  const lines = r.err.split('\n').filter((l) => l && !/NodeVersionSupportWarning|node >=22|AWS SDK|upgrade to node|a\.co\/|trace-warnings|versions published|require node|continue receiving|security updates|More information/.test(l));
  assert.deepEqual(lines, [want], `${where}: stderr ${JSON.stringify(r.err)}`);
  assert.equal(r.status, 2, `${where}: exit status`);
  assert.ok(!/\n\s+at /.test(r.err), `${where}: a stack trace`);
  assert.equal(r.out, '', `${where}: stdout`);
}

test('cli: the server down is one line naming the endpoint and what to set, for every command', async () => {
  const endpoint = `http://127.0.0.1:${closedPort}`;
  for (const args of COMMANDS) {
    oneLine(args, await cli([...args, '--endpoint', endpoint], true), `rekey: ConfigurationError: cannot reach the rekey server at ${endpoint} (ECONNREFUSED); is it running? Set --endpoint or REKEY_ENDPOINT.`);
  }
});

test('cli: --endpoint before the group, between group and command, or at the end: the same, for every command', async () => {
  const endpoint = `http://127.0.0.1:${closedPort}`;
  const want = `rekey: ConfigurationError: cannot reach the rekey server at ${endpoint} (ECONNREFUSED); is it running? Set --endpoint or REKEY_ENDPOINT.`;
  for (const args of COMMANDS) {
    const front = ['--endpoint', endpoint, ...args];
    const middle = [args[0]!, '--endpoint', endpoint, ...args.slice(1)];
    oneLine(front, await cli(front, true), want);
    oneLine(middle, await cli(middle, true), want);
  }
  // where no server is spoken to, the flag is refused by name instead of ignored
  const server = ['--endpoint', endpoint, 'audit', 'verify'];
  oneLine(server, await cli(server, true), 'rekey: ConfigurationError: --endpoint does not apply to rekey audit verify: it talks to no server');
});

const NO_CREDENTIALS = 'rekey: ConfigurationError: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials); the server prints the bootstrap administrator\'s keys at its first start.';

test('cli: missing credentials are one line, for every command, and nothing is sent', async () => {
  await s.audit.settled();
  const before = s.audit.stats.events;
  for (const args of COMMANDS) oneLine(args, await cli([...args, '--endpoint', s.url], false), NO_CREDENTIALS);
  await s.audit.settled();
  assert.equal(s.audit.stats.events, before, 'a request reached the server');
});

test('cli: proxy commands on a server without a proxy say so', async () => {
  oneLine(['proxy', 'status'], await cli(['proxy', 'status', '--endpoint', s.url], true), 'rekey: RouteNotFoundException: This server runs no PostgreSQL proxy: configure proxy.targets (docs/PROXY.md)');
});

test('cli: the real command, in a child process, without credentials: the same line and exit status 2', async () => {
  const r = await rekeyCli(['jobs', 'ls', '--endpoint', s.url], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
  oneLine(['jobs', 'ls'], r, NO_CREDENTIALS);
});
