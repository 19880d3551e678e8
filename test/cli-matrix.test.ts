// The CLI speaks one language (issue 18, item 6): every subcommand that talks to a server says the
// same one line when the server is down and when credentials are missing, exits 2, and prints no
// stack trace; its connection flags work in any position; every subcommand takes --output table|json
// and, asked for JSON, prints one JSON document and nothing else. Rows run the `rekey` program in
// process (src/cli/program.ts runCli: what bin/rekey.mjs runs; a child process per row costs ~20 s on
// a loaded machine); the last test runs the real command once in a child process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { buildProgram, runCli } from '../src/cli/program.ts';
import { IAM_COMMANDS } from '../src/cli/iam-command.ts';
import { WITHOUT_OUTPUT } from '../src/cli/output.ts';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';

const ADMIN = 'arn:aws:iam::111122223333:root';
const JOB = '01890000-0000-7000-8000-000000000000';
const files = mkdtempSync(join(tmpdir(), 'rekey-cli-matrix-'));

/**
 * Every subcommand that talks to a server, with the arguments it needs to get as far as the request
 * (the first test checks that no such command is missing).
 */
const COMMANDS: string[][] = [
  ...IAM_COMMANDS.map((c) => ['iam', c.name, ...c.required.flatMap((o) => [o[0].split(' ')[0]!, ...(o[3] === 'bool' ? [] : [o[0].includes('status') ? 'Active' : 'x'])])]),
  ['kms', 'create-key', '--administrators', ADMIN], ['kms', 'dependents', 'k'], ['kms', 'disable', 'k'], ['kms', 'schedule-deletion', 'k'], ['kms', 'usage-budget', 'k'],
  ['secrets', 'webhooks', 'add', 'w', 'https://example.com/hook'], ['secrets', 'webhooks', 'list'], ['secrets', 'webhooks', 'remove', 'w'],
  ['jobs', 'ls'], ['jobs', 'ls', '--upcoming'], ['jobs', 'show', JOB], ['jobs', 'retry', JOB], ['jobs', 'cancel', JOB],
  ['proxy', 'status'], ['proxy', 'pause', 'app'], ['proxy', 'cutover', 'app', '127.0.0.1:5432'], ['proxy', 'switch', 'app', '127.0.0.1:5432'], ['proxy', 'resume', 'app'],
  ['db', 'change-key', 'db1', '--kms-key-id', 'k'], ['db', 'show', 'db1'], ['db', 'replication', 'db1'], ['db', 'mariadb-config', 'ring'],
  ['keyserve', 'create-keyring', 'ring', '--kms-key-id', 'k'], ['keyserve', 'list'], ['keyserve', 'show', 'ring'], ['keyserve', 'create-key', 'ring', '3'],
  ['keyserve', 'sync', 'ring'], ['keyserve', 'issue-token', 'ring'], ['keyserve', 'list-tokens', 'ring'], ['keyserve', 'revoke-token', 'ring', 'accessor'],
  ['certs', 'status'], ['certs', 'rotate'], ['certs', 'rotate-ca'], ['certs', 'bundle', '--out', join(files, 'ca.pem')], ['certs', 'issue', '--common-name', 'c', '--out', join(files, 'c')],
  ['compliance', 'report', '--standard', 'pci-dss'], ['compliance', 'evaluation'],
  ['incident', 'compromised-key', 'k'], ['incident', 'compromised-credentials', 'AKIAEXAMPLE'], ['incident', 'show', JOB],
  ['alarms', 'ls'], ['alarms', 'show', 'kms-access-denied'], ['alarms', 'put', 'a1', '--metric', 'rekey_requests_total', '--threshold', '1'], ['alarms', 'rm', 'a1'],
  ['alarms', 'target', 'ls'], ['alarms', 'target', 'put', 't1', '--webhook', 'https://example.com/alarm'], ['alarms', 'target', 'rm', 't1'],
];

/** Subcommands that read a store or a file and talk to no server (they refuse --endpoint). */
const OFFLINE = ['server', 'operator rotate-root', 'iam key-policy', 'audit verify', 'audit lookup', 'audit checkpoint', 'audit public-key', 'rehearse', 'compliance verify', 'incident verify'];

/** Every leaf command of `rekey`, as "group command". */
function leaves(c: Command = buildProgram(), path: string[] = []): { name: string; cmd: Command }[] {
  return c.commands.length === 0 ? [{ name: path.join(' '), cmd: c }] : c.commands.flatMap((s) => leaves(s, [...path, s.name()]));
}

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

/** Runs one command line in process with (or without) the AWS_* variables; its exit status, stderr and stdout. */
async function cli(args: string[], creds: boolean): Promise<{ status: number | null; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: creds ? TEST_CREDS.accessKeyId : '', AWS_SECRET_ACCESS_KEY: creds ? TEST_CREDS.secretAccessKey : '', AWS_SESSION_TOKEN: '' };
  delete env['REKEY_ENDPOINT'];
  let out = '';
  let err = '';
  const saved = process.exitCode;
  try {
    const status = await runCli(['node', 'rekey', ...args], { out: (t) => { out += t; }, err: (t) => { err += t; }, env });
    return { status: status === 0 && process.exitCode ? Number(process.exitCode) : status, out, err };
  } finally {
    process.exitCode = saved;
  }
}

test('cli: every command is in this matrix, and every command takes --output table|json (documents excepted, by name)', () => {
  const all = leaves();
  const rows = new Set(COMMANDS.map((args) => all.find((l) => args.join(' ').startsWith(`${l.name} `) || args.join(' ') === l.name)?.name));
  const missing = all.map((l) => l.name).filter((n) => !rows.has(n) && !OFFLINE.includes(n));
  assert.deepEqual(missing, [], 'subcommands that talk to a server but have no row here');
  for (const { name, cmd } of all) {
    const output = cmd.options.find((o) => o.long === '--output');
    if (name in WITHOUT_OUTPUT) continue;
    assert.ok(output, `rekey ${name} has no --output`);
    if (name === 'compliance report') continue;
    assert.deepEqual(output.argChoices, ['table', 'json'], `rekey ${name} --output`);
    assert.equal(output.defaultValue, 'table', `rekey ${name}: tables for people by default`);
  }
  // the exceptions print a document in its own format (and say so in docs/CLI.md)
  assert.deepEqual(Object.keys(WITHOUT_OUTPUT).filter((n) => !all.some((l) => l.name === n)), [], 'an exception that is no command');
});

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

/**
 * --output json, every command, against a real server: one JSON document on stdout, or (the command
 * failed: no such job, no proxy here, ...) nothing on stdout and one line on stderr. The rows run in
 * order, so creating rows feed the rows after them (a user, a key, a keyring, an alarm).
 */
test('cli: --output json prints one JSON document, for every command; tables by default', async (t) => {
  const key = JSON.parse((await cli(['kms', 'create-key', '--administrators', ADMIN, '--users', ADMIN, '--endpoint', s.url, '--output', 'json'], true)).out) as { KeyMetadata: { KeyId: string } };
  const keyId = key.KeyMetadata.KeyId;
  const doomed = JSON.parse((await cli(['kms', 'create-key', '--administrators', ADMIN, '--endpoint', s.url, '--output', 'json'], true)).out) as { KeyMetadata: { KeyId: string } };
  const ok: string[] = [];
  for (const row of COMMANDS) {
    const args = row.map((a) => (a === 'k' ? (row[1] === 'schedule-deletion' || row[1] === 'disable' ? doomed.KeyMetadata.KeyId : keyId) : a));
    if (`${row[0]} ${row[1]}` in WITHOUT_OUTPUT) continue;
    const r = await cli([...args, '--endpoint', s.url, '--output', 'json'], true);
    const where = `rekey ${args.join(' ')} --output json`;
    if (r.status === 0) {
      assert.doesNotThrow(() => JSON.parse(r.out), `${where}: stdout is not JSON: ${r.out.slice(0, 300)}`);
      ok.push(row.slice(0, 3).join(' '));
    } else {
      assert.equal(r.out, '', `${where}: failed (${r.err.trim()}) but printed to stdout`);
      assert.match(r.err, /^rekey: \w+: .+\n$/, `${where}: stderr`);
      t.diagnostic(`${where}: ${r.err.trim()}`);
    }
  }
  // what must succeed on a plain test server (no proxy, no database instances, TLS off: those answer errors above)
  for (const want of ['iam list-users', 'iam whoami', 'iam create-user --user-name', 'kms create-key --administrators', 'kms dependents', 'kms usage-budget', 'kms disable',
    'secrets webhooks add', 'secrets webhooks list', 'secrets webhooks remove', 'jobs ls', 'jobs ls --upcoming', 'keyserve create-keyring ring', 'keyserve list', 'keyserve show ring',
    'keyserve issue-token ring', 'keyserve list-tokens ring', 'compliance report --standard', 'compliance evaluation', 'alarms ls', 'alarms show kms-access-denied',
    'alarms put a1', 'alarms rm a1', 'alarms target ls', 'alarms target put', 'alarms target rm', 'incident compromised-key']) {
    assert.ok(ok.some((o) => o.startsWith(want)), `rekey ${want} --output json did not succeed; succeeded: ${ok.join(', ')}`);
  }
  // the same reads for people: a table or lines, never JSON, never an unprinted object
  for (const args of [['iam', 'list-users'], ['iam', 'whoami'], ['kms', 'dependents', keyId], ['kms', 'usage-budget', keyId], ['secrets', 'webhooks', 'list'], ['jobs', 'ls'],
    ['keyserve', 'list'], ['keyserve', 'show', 'ring'], ['keyserve', 'list-tokens', 'ring'], ['compliance', 'evaluation'], ['alarms', 'ls'], ['alarms', 'target', 'ls']]) {
    const r = await cli([...args, '--endpoint', s.url], true);
    assert.equal(r.status, 0, `rekey ${args.join(' ')}: ${r.err}`);
    assert.ok(r.out.length > 0, `rekey ${args.join(' ')}: printed nothing`);
    assert.throws(() => JSON.parse(r.out), SyntaxError, `rekey ${args.join(' ')}: printed JSON by default`);
    assert.doesNotMatch(r.out, /\[object Object\]|undefined/, `rekey ${args.join(' ')}`);
  }
  const users = (await cli(['iam', 'list-users', '--endpoint', s.url], true)).out;
  assert.match(users, /^USERS\n  USER NAME +/m, users);
});

test('cli: proxy commands on a server without a proxy say so', async () => {
  oneLine(['proxy', 'status'], await cli(['proxy', 'status', '--endpoint', s.url], true), 'rekey: RouteNotFoundException: This server runs no PostgreSQL proxy: configure proxy.targets (docs/PROXY.md)');
});

test('cli: the real command, in a child process, without credentials: the same line and exit status 2', async () => {
  const r = await rekeyCli(['jobs', 'ls', '--endpoint', s.url], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
  oneLine(['jobs', 'ls'], r, NO_CREDENTIALS);
});
