import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerIamCommands, RemoteError } from './iam-command.ts';
import { iamRoutes } from '../http/admin-iam.ts';
import { cliTestServer } from './testing.ts';
import { ACCOUNT, TestClock, testIam } from '../iam/testing.ts';

async function setup() {
  const t = await testIam({ clock: new TestClock(Date.now()) });
  const { run, endpoint, close } = await cliTestServer(t, iamRoutes(t.iam), 'iam', registerIamCommands);
  after(close);
  return { ...t, run, endpoint };
}

test('rekey iam: users, keys, policies (file://), roles, errors', async () => {
  const { run, iam } = await setup();
  const u = await run(['create-user', '--user-name', 'deployer']);
  assert.equal((u['User'] as { Arn: string }).Arn, `arn:aws:iam::${ACCOUNT}:user/deployer`);
  const k = (await run(['create-access-key', '--user-name', 'deployer']))['AccessKey'] as { AccessKeyId: string; SecretAccessKey: string };
  assert.match(k.AccessKeyId, /^AKIA/);

  const dir = mkdtempSync(join(tmpdir(), 'rekey-iam-'));
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }));
  await run(['put-user-policy', '--user-name', 'deployer', '--policy-name', 'kms', '--policy-document', `file://${file}`]);
  assert.deepEqual(await iam.principals.listPolicies('user', 'deployer'), ['kms']);
  assert.deepEqual(await run(['list-user-policies', '--user-name', 'deployer']), { PolicyNames: ['kms'] });

  const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/deployer` }, Action: 'sts:AssumeRole' }] });
  const r = await run(['create-role', '--role-name', 'app', '--assume-role-policy-document', trust, '--max-session-duration', '7200']);
  assert.equal((r['Role'] as { MaxSessionDuration: number }).MaxSessionDuration, 7200);

  // the deployer may not administer IAM: the server's error comes back with its code
  await assert.rejects(run(['create-user', '--user-name', 'x'], { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey }), (e: unknown) => {
    assert.ok(e instanceof RemoteError);
    assert.equal(e.code, 'AccessDeniedException');
    assert.match(e.message, /^User: arn:aws:iam::111122223333:user\/deployer is not authorized to perform: iam:CreateUser/);
    return true;
  });
  await assert.rejects(run(['get-user', '--user-name', 'ghost']), { code: 'NotFoundException', message: 'The user with name ghost cannot be found.' });
  await run(['update-access-key', '--user-name', 'deployer', '--access-key-id', k.AccessKeyId, '--status', 'Inactive']);
  assert.equal((await iam.accessKeys.get(k.AccessKeyId))?.status, 'Inactive');
  await run(['delete-user', '--user-name', 'deployer', '--force']);
  assert.deepEqual(((await run(['list-users']))['Users'] as { UserName: string }[]).map((x) => x.UserName), ['rekey-admin']);
  assert.equal(((await run(['whoami'])) as { Arn: string }).Arn, `arn:aws:iam::${ACCOUNT}:user/rekey-admin`);
});

test('rekey iam key-policy prints the separation-of-duties policy without a server', async () => {
  let out = '';
  const program = new Command().exitOverride();
  registerIamCommands(program, { out: { write: (s: string) => (out += s) }, env: {} });
  await program.parseAsync(['node', 'rekey', 'iam', 'key-policy', '--account-id', ACCOUNT, '--administrators', `arn:aws:iam::${ACCOUNT}:user/a`, '--users', `arn:aws:iam::${ACCOUNT}:role/r,arn:aws:iam::${ACCOUNT}:user/b`, '--no-iam-user-permissions']);
  const doc = JSON.parse(out) as { Statement: { Sid: string; Principal: { AWS: string | string[] } }[] };
  assert.deepEqual(doc.Statement.map((s) => s.Sid), ['Allow access for Key Administrators', 'Allow use of the key', 'Allow attachment of persistent resources']);
  assert.deepEqual(doc.Statement[1]!.Principal.AWS, [`arn:aws:iam::${ACCOUNT}:role/r`, `arn:aws:iam::${ACCOUNT}:user/b`]);
});

test('missing credentials are a clear error', async () => {
  const program = new Command().exitOverride();
  registerIamCommands(program, { out: { write: () => 0 }, env: {} });
  await assert.rejects(program.parseAsync(['node', 'rekey', 'iam', 'list-users']), { name: 'ConfigurationError', message: /^no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/ });
});
