import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { iamEndpoints, TARGET_DEFAULTS, validateTargets } from './config.ts';

const base = { name: 'app', listen: { host: '127.0.0.1', port: 6432 }, upstream: { host: 'db', port: 5432 }, secretIds: ['prod/app'] };

test('proxy targets: defaults filled, result frozen', () => {
  const [t] = validateTargets([base]);
  assert.equal(t!.mode, 'session');
  assert.equal(t!.poolSize, TARGET_DEFAULTS.poolSize);
  assert.ok(Object.isFrozen(t));
});

test('proxy targets: each bad field is a ConfigurationError naming it', () => {
  const bad = (patch: object, message: string) =>
    assert.throws(() => validateTargets([{ ...base, ...patch } as typeof base]), { name: 'ConfigurationError', message });
  bad({ name: 'bad name' }, 'proxy.targets[0].name must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}');
  bad({ listen: { host: '', port: 1 } }, 'proxy.targets[0].listen must be {host, port}');
  bad({ upstream: { host: 'db', port: 0 } }, 'proxy.targets[0].upstream must be {host, port}');
  bad({ upstream: { host: 'db', port: 5432, tls: 'prefer' } }, 'proxy.targets[0].upstream.tls must be disable, require, verify-ca or verify-full');
  bad({ upstream: { host: 'db', port: 5432, tls: 'verify-full' } }, "proxy.targets[0].upstream.caFile is required with upstream.tls verify-full (the PEM bundle of the CAs the database's certificate must lead to)");
  bad({ upstream: { host: 'db', port: 5432, tls: 'require', caFile: '/ca.pem' } }, 'proxy.targets[0].upstream.caFile is only used with upstream.tls verify-ca or verify-full (require does not check the certificate)');
  bad({ upstream: { host: 'db', port: 5432, serverName: 'db.internal' } }, 'proxy.targets[0].upstream.serverName needs upstream.tls require, verify-ca or verify-full');
  bad({ upstream: { host: 'db', port: 5432, tls: 'require', serverName: 'db/x' } }, 'proxy.targets[0].upstream.serverName must be a host name or IP address');
  bad({ secretIds: [] }, 'proxy.targets[0].secretIds must be a non-empty list of secret ids');
  bad({ mode: 'statement' }, 'proxy.targets[0].mode must be session or transaction');
  bad({ poolSize: 0 }, 'proxy.targets[0].poolSize must be an integer in [1, 10000]');
  bad({ maxMessageBytes: 10 }, 'proxy.targets[0].maxMessageBytes must be an integer in [1024, 1073741823]');
  bad({ requireTls: 'yes' }, 'proxy.targets[0].requireTls must be a boolean');
  bad({ auth: 'kerberos' }, 'proxy.targets[0].auth must be password, iam or password+iam');
  bad({ auth: 'iam' }, 'proxy.targets[0].iamHosts must name the "<hostname>:<port>" clients sign IAM tokens for (auth iam)');
  bad({ auth: 'iam', iamHosts: ['db.example.com:5432/x'] }, 'proxy.targets[0].iamHosts must be a list of "<hostname>[:<port>]" (IPv6 in brackets)');
  bad({ resourceId: 'db_1' }, 'proxy.targets[0].resourceId must be letters, digits and hyphens');
  assert.throws(() => validateTargets([base, base]), { name: 'ConfigurationError', message: 'proxy.targets[1].name app is used twice' });
});

test('proxy targets in the config file are validated by loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-proxy-cfg-'));
  try {
    const file = join(dir, 'rekey.json');
    writeFileSync(file, JSON.stringify({ proxy: { targets: [{ ...base, mode: 'transaction' }] } }));
    const cfg = loadConfig({ configFile: file, dataDir: dir }, {});
    assert.equal(cfg.proxy?.targets[0]?.mode, 'transaction');
    writeFileSync(file, JSON.stringify({ proxy: { targets: [{ ...base, poolSize: -1 }] } }));
    assert.throws(() => loadConfig({ configFile: file, dataDir: dir }, {}), { name: 'ConfigurationError', message: 'proxy.targets[0].poolSize must be an integer in [1, 10000]' });
    const upstream = { host: 'db', port: 5432, tls: 'verify-full', caFile: join(dir, 'ca.pem'), serverName: 'db.internal' };
    writeFileSync(file, JSON.stringify({ proxy: { targets: [{ ...base, upstream }] } }));
    assert.deepEqual(loadConfig({ configFile: file, dataDir: dir }, {}).proxy?.targets[0]?.upstream, upstream);
    writeFileSync(file, JSON.stringify({ proxy: { targets: [{ ...base, upstream: { ...upstream, tls: 'verify-ca', caFile: undefined } }] } }));
    assert.throws(() => loadConfig({ configFile: file, dataDir: dir }, {}), { name: 'ConfigurationError', message: /^proxy\.targets\[0\]\.upstream\.caFile is required with upstream\.tls verify-ca/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('proxy targets: auth defaults to password; IAM hosts without a port use the listening port', () => {
  const [t] = validateTargets([base]);
  assert.deepEqual([t!.auth, t!.resourceId, t!.iamHosts], ['password', 'proxy-app', []]);
  const [i] = validateTargets([{ ...base, auth: 'iam', iamHosts: ['db.example.com', 'proxy:5432', '[::1]'], resourceId: 'db-ABC' }]);
  assert.deepEqual(iamEndpoints(i!.iamHosts, 6432), ['db.example.com:6432', 'proxy:5432', '[::1]:6432']);
});

test('proxy.tls in the config file: files needs both files; generated needs rekey\'s CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-proxy-cfg-'));
  try {
    const file = join(dir, 'rekey.json');
    writeFileSync(file, JSON.stringify({ proxy: { targets: [base], tls: { mode: 'files', certFile: 'x.pem' } } }));
    assert.throws(() => loadConfig({ configFile: file, dataDir: dir }, {}), { name: 'ConfigurationError', message: 'proxy.tls.mode "files" needs proxy.tls.certFile and proxy.tls.keyFile' });
    writeFileSync(file, JSON.stringify({ proxy: { targets: [base], tls: { mode: 'generated' } } }));
    assert.throws(() => loadConfig({ configFile: file, dataDir: dir }, {}), { name: 'ConfigurationError', message: 'proxy.tls.mode "generated" issues from rekey\'s CA: it needs tls.mode "generated"' });
    assert.equal(loadConfig({ configFile: file, dataDir: dir }, { REKEY_TLS: 'generated' }).proxy?.tls?.mode, 'generated');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('upstream.tls: defaults to disable; verify-full keeps caFile and serverName', () => {
  assert.equal(validateTargets([base])[0]!.upstream.tls, 'disable');
  const [t] = validateTargets([{ ...base, upstream: { host: '10.0.0.5', port: 5432, tls: 'verify-full', caFile: '/etc/rekey/db-ca.pem', serverName: 'db.internal' } }]);
  assert.deepEqual(t!.upstream, { host: '10.0.0.5', port: 5432, tls: 'verify-full', caFile: '/etc/rekey/db-ca.pem', serverName: 'db.internal' });
});

test('proxy targets: decoupled applications (docs/PROXY.md, "Decoupled application credentials")', () => {
  const [t] = validateTargets([{ ...base, applications: [{ user: 'app', passwordSecretId: 'prod/app/proxy-login' }] }]);
  assert.deepEqual(t!.applications, [{ user: 'app', secretId: 'prod/app', passwordSecretId: 'prod/app/proxy-login' }]);
  assert.deepEqual(validateTargets([base])[0]!.applications, []);
  const two = { ...base, secretIds: ['a', 'b'] };
  const bad = (patch: object, message: string) =>
    assert.throws(() => validateTargets([{ ...base, ...patch } as typeof base]), { name: 'ConfigurationError', message });
  bad({ applications: {} }, 'proxy.targets[0].applications must be a list of {user, secretId, passwordSecretId}');
  bad({ applications: [{ user: 'a b', passwordSecretId: 'p' }] }, 'proxy.targets[0].applications[0].user must be 1 to 63 characters without spaces, quotes or NUL');
  bad({ applications: [{ user: 'a', passwordSecretId: 'p' }, { user: 'a', passwordSecretId: 'q' }] }, 'proxy.targets[0].applications[1].user a is used twice');
  bad({ ...two, applications: [{ user: 'a', passwordSecretId: 'p' }] }, "proxy.targets[0].applications[0].secretId must be one of the target's secretIds (the database secret the proxy logs in with)");
  bad({ applications: [{ user: 'a', secretId: 'other', passwordSecretId: 'p' }] }, "proxy.targets[0].applications[0].secretId must be one of the target's secretIds (the database secret the proxy logs in with)");
  bad({ applications: [{ user: 'a' }] }, 'proxy.targets[0].applications[0].passwordSecretId is required with auth password (the application\'s own password)');
  bad({ applications: [{ user: 'a', passwordSecretId: 'prod/app' }] }, "proxy.targets[0].applications[0].passwordSecretId must be a secret of the application's own, not one of the target's database secrets");
  bad({ auth: 'iam', iamHosts: ['h'], applications: [{ user: 'a', passwordSecretId: 'p' }] }, 'proxy.targets[0].applications[0].passwordSecretId is not used with auth iam (clients present IAM tokens only)');
  // IAM only: no password secret
  assert.deepEqual(validateTargets([{ ...base, auth: 'iam', iamHosts: ['h'], applications: [{ user: 'a' }] }])[0]!.applications, [{ user: 'a', secretId: 'prod/app' }]);
});
