// bench/storm: a SIGKILL storm under mixed KMS / Secrets Manager / IAM load (issue 17, must-show).
// One data directory; the server (bin/rekey.mjs, a real process) is started, loaded from several
// concurrent clients, and SIGKILLed at a random moment, STORM_KILLS times (default 22). Every write
// the server acknowledged (a 200 with its result) is remembered. At the end a clean server checks:
//   lost writes         acknowledged CreateKey / CreateSecret / PutSecretValue / CreateUser+CreateAccessKey
//                       that are gone (must be 0)
//   undecryptable       acknowledged Encrypt ciphertexts that no longer decrypt to their plaintext (must be 0)
//   audit verify        `rekey audit verify` on the store and on the file (both must pass)
// Usage: node --import tsx bench/storm/run.ts   (STORM_KILLS, STORM_WORKERS, STORM_MIN_MS, STORM_MAX_MS)
// Exits 1 when anything was lost or a verification failed.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as K from '@aws-sdk/client-kms';
import * as S from '@aws-sdk/client-secrets-manager';
import { signRequest } from '../../src/iam/sigv4-sign.ts';

const KILLS = Number(process.env['STORM_KILLS'] ?? 22);
const WORKERS = Number(process.env['STORM_WORKERS'] ?? 6);
const MIN_MS = Number(process.env['STORM_MIN_MS'] ?? 300);
const MAX_MS = Number(process.env['STORM_MAX_MS'] ?? 1200);
const BIN = join(process.cwd(), 'bin', 'rekey.mjs');
const CREDS = { accessKeyId: 'AKIASTORM00000000001', secretAccessKey: 'storm-secret-storm-secret-storm-secret-1' };
const REGION = 'us-east-1';
const dir = mkdtempSync(join(tmpdir(), 'rekey-storm-'));
const ENV = { REKEY_DEV_ACCESS_KEY_ID: CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: CREDS.secretAccessKey, REKEY_LOG_LEVEL: 'silent', REKEY_QUOTAS: 'off' };

interface Server { url: string; proc: ChildProcess; exited: Promise<void> }

function start(): Promise<Server> {
  const proc = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data-dir', dir], { env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const early = (code: number | null) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${out}`)); };
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    proc.once('exit', early);
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.off('exit', early);
      proc.stdout!.off('data', onData);
      proc.stdout!.resume();
      resolve({ url: m[1]!, proc, exited });
    };
    proc.stdout!.on('data', onData);
  });
}

// What the server acknowledged.
const ciphertexts: { plaintext: string; blob: Uint8Array }[] = [];
const keys: string[] = [];
const secretVersions: { secretId: string; versionId: string; value: string }[] = [];
const accessKeys: { accessKeyId: string; secretAccessKey: string }[] = [];
const counts = { attempted: 0, acknowledged: 0, failedInFlight: 0 };

async function admin(url: string, method: 'POST', path: string, body: object): Promise<any> {
  const u = new URL(path, url);
  const payload = JSON.stringify(body);
  const headers = signRequest({ method, host: u.host, path: u.pathname, headers: { 'content-type': 'application/json' }, body: payload }, CREDS, { region: REGION, service: 'iam' });
  delete headers['host'];
  const res = await fetch(u, { method, headers, body: payload, signal: AbortSignal.timeout(10_000) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

let unique = 0;
let killed = false;
async function worker(url: string, w: number, baseKey: string, baseSecret: string): Promise<void> {
  const kms = new K.KMSClient({ endpoint: url, region: REGION, credentials: CREDS, maxAttempts: 1 });
  const sm = new S.SecretsManagerClient({ endpoint: url, region: REGION, credentials: CREDS, maxAttempts: 1 });
  while (!killed) {
    const n = ++unique;
    const op = n % 10;
    counts.attempted++;
    try {
      if (op <= 3) {
        const plaintext = `storm-${w}-${n}`;
        const r = await kms.send(new K.EncryptCommand({ KeyId: baseKey, Plaintext: Buffer.from(plaintext), EncryptionContext: { n: String(n) } }));
        ciphertexts.push({ plaintext, blob: r.CiphertextBlob! });
      } else if (op === 4) {
        const r = await kms.send(new K.CreateKeyCommand({ Description: `storm ${n}` }));
        keys.push(r.KeyMetadata!.KeyId!);
      } else if (op <= 7) {
        const value = `v-${n}`;
        const r = await sm.send(new S.PutSecretValueCommand({ SecretId: baseSecret, SecretString: value }));
        secretVersions.push({ secretId: baseSecret, versionId: r.VersionId!, value });
      } else if (op === 8) {
        const name = `storm/s-${process.pid}-${n}`;
        const r = await sm.send(new S.CreateSecretCommand({ Name: name, SecretString: `first-${n}` }));
        secretVersions.push({ secretId: name, versionId: r.VersionId!, value: `first-${n}` });
      } else {
        const user = `storm-${process.pid}-${n}`;
        await admin(url, 'POST', '/v1/iam/users', { UserName: user });
        const r = await admin(url, 'POST', `/v1/iam/users/${user}/access-keys`, {});
        accessKeys.push({ accessKeyId: r.AccessKey.AccessKeyId, secretAccessKey: r.AccessKey.SecretAccessKey });
      }
      counts.acknowledged++;
    } catch {
      counts.failedInFlight++; // not acknowledged: in flight when the kill came
      break;
    }
  }
  kms.destroy();
  sm.destroy();
}

// Keeps the event loop alive while a request waits inside the SDK (it can await a promise that no
// socket or timer holds yet, and top-level await would then end the process with code 13).
const keepAlive = setInterval(() => undefined, 1000);
const t0 = Date.now();
let s = await start();
const setupKms = new K.KMSClient({ endpoint: s.url, region: REGION, credentials: CREDS, maxAttempts: 1 });
const baseKey = (await setupKms.send(new K.CreateKeyCommand({ Description: 'storm base' }))).KeyMetadata!.KeyId!;
const baseSecret = `storm/base-${process.pid}`;
setupKms.destroy();

for (let k = 1; k <= KILLS; k++) {
  const loadMs = MIN_MS + Math.floor(Math.random() * (MAX_MS - MIN_MS));
  killed = false;
  // a secret per cycle: Secrets Manager prunes unlabelled versions beyond 100, which is not a loss
  const cycleSecret = `${baseSecret}-${k}`;
  const cycleSm = new S.SecretsManagerClient({ endpoint: s.url, region: REGION, credentials: CREDS, maxAttempts: 1 });
  const created = await cycleSm.send(new S.CreateSecretCommand({ Name: cycleSecret, SecretString: 'v0' }));
  secretVersions.push({ secretId: cycleSecret, versionId: created.VersionId!, value: 'v0' });
  cycleSm.destroy();
  const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(s.url, w, baseKey, cycleSecret)));
  await new Promise((r) => setTimeout(r, loadMs));
  killed = true;
  s.proc.kill('SIGKILL');
  await s.exited;
  await load;
  process.stdout.write(`kill ${k}/${KILLS} after ${loadMs} ms: ${counts.acknowledged} acknowledged so far\n`);
  if (k < KILLS) s = await start();
}

// A clean start checks everything that was acknowledged.
s = await start();
const kms = new K.KMSClient({ endpoint: s.url, region: REGION, credentials: CREDS, maxAttempts: 1 });
const sm = new S.SecretsManagerClient({ endpoint: s.url, region: REGION, credentials: CREDS, maxAttempts: 1 });
let undecryptable = 0;
for (const c of ciphertexts) {
  const n = c.plaintext.split('-')[2]!;
  try {
    const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: c.blob, EncryptionContext: { n } }));
    if (Buffer.from(d.Plaintext!).toString() !== c.plaintext) undecryptable++;
  } catch {
    undecryptable++;
  }
}
const lostBy = { keys: 0, secretVersions: 0, accessKeys: 0 };
for (const id of keys) await kms.send(new K.DescribeKeyCommand({ KeyId: id })).catch(() => { lostBy.keys++; });
for (const v of secretVersions) {
  const got = await sm.send(new S.GetSecretValueCommand({ SecretId: v.secretId, VersionId: v.versionId })).catch(() => null);
  if (got?.SecretString !== v.value) lostBy.secretVersions++;
}
for (const a of accessKeys) {
  // the new user has no policy: AccessDeniedException proves the key authenticates; an unknown key is UnrecognizedClientException
  const e = await new K.KMSClient({ endpoint: s.url, region: REGION, credentials: a, maxAttempts: 1 }).send(new K.ListKeysCommand({})).then(() => null, (x: Error) => x);
  if (e && e.name !== 'AccessDeniedException') lostBy.accessKeys++;
}
const lost = lostBy.keys + lostBy.secretVersions + lostBy.accessKeys;
s.proc.kill('SIGTERM');
await s.exited;
const verify = (args: string[]) => spawnSync(process.execPath, [BIN, 'audit', 'verify', '--data-dir', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...ENV } });
const store = verify([]);
const file = verify(['--file', join(dir, 'audit', 'audit.jsonl')]);
const line = (r: ReturnType<typeof verify>) => `${r.status === 0 ? 'pass' : 'FAIL'} (${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' | ')})`;

process.stdout.write(`
storm: ${KILLS} SIGKILLs, ${WORKERS} workers, ${Math.round((Date.now() - t0) / 1000)} s
  writes attempted           ${counts.attempted}
  acknowledged               ${counts.acknowledged} (Encrypt ${ciphertexts.length}, CreateKey ${keys.length}, secret versions ${secretVersions.length}, access keys ${accessKeys.length})
  in flight at a kill        ${counts.failedInFlight}
  lost acknowledged writes   ${lost} (keys ${lostBy.keys}, secret versions ${lostBy.secretVersions}, access keys ${lostBy.accessKeys})
  undecryptable ciphertexts  ${undecryptable}
  audit verify (store)       ${line(store)}
  audit verify (file)        ${line(file)}
`);
clearInterval(keepAlive);
rmSync(dir, { recursive: true, force: true });
process.exit(lost === 0 && undecryptable === 0 && store.status === 0 && file.status === 0 ? 0 : 1);
