// Secrets scan: a workload whose requests and responses carry plaintexts, data keys, secret values,
// passwords, access-key secrets and key material; none of them may appear, raw, hex or base64, in
// anything any sink wrote (store, JSONL file, stdout, syslog).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from '../crypto/index.ts';
import { ValidationException } from '../errors.ts';
import { AuditedCall } from './call.ts';
import { adminEvent, secretsApiEvent, serviceEvent } from './event.ts';
import { AuditLog } from './log.ts';
import { FileSink } from './sinks/file.ts';
import { StdoutSink } from './sinks/stdout.ts';
import { StoreSink } from './sinks/store.ts';
import { SyslogSink } from './sinks/syslog.ts';
import { ACCOUNT, CALLER, KEY_ARN, KEY_ID, syslogServer, testBarrier } from './testing.ts';

test('no plaintext, data key, secret value or password reaches any sink', async () => {
  const plaintext = Buffer.from('Quarterly-numbers: revenue 4,200,000 (CONFIDENTIAL)');
  const dataKey = randomBytes(32);
  const material = randomBytes(32);
  const password = 'correct-horse-battery-staple-9!';
  const secretString = JSON.stringify({ username: 'app', password });
  const accessSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const ciphertext = randomBytes(80);

  const { barrier } = await testBarrier();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-'));
  const stdout = new PassThrough();
  const captured: Buffer[] = [];
  stdout.on('data', (d: Buffer) => captured.push(d));
  const srv = await syslogServer();
  const syslog = new SyslogSink({ host: '127.0.0.1', port: srv.port });
  const log = await AuditLog.open({
    node: 'n1', barrier, digestPeriodMs: 0,
    sinks: [new StoreSink(barrier), new FileSink({ path: join(dir, 'audit.jsonl') }), new StdoutSink(stdout), syslog],
  });
  const ctx = { caller: CALLER, requestId: 'r', sourceIp: '10.0.0.9', userAgent: 'sdk', region: 'us-east-1', now: new Date() };
  const b64 = (b: Buffer) => b.toString('base64');
  const kms = async (operation: string, input: unknown, output?: unknown, error?: unknown) => {
    const call = new AuditedCall(log, { service: 'kms', operation, input, ...ctx });
    if (error !== undefined) await call.failed(error);
    else await call.succeeded(output);
  };

  await kms('CreateKey', { Description: 'orders' }, { KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, AWSAccountId: ACCOUNT } });
  await kms('Encrypt', { KeyId: KEY_ID, Plaintext: b64(plaintext), EncryptionContext: { order: '1' } }, { KeyId: KEY_ARN, CiphertextBlob: b64(ciphertext) });
  await kms('Decrypt', { CiphertextBlob: b64(ciphertext) }, { KeyId: KEY_ARN, Plaintext: b64(plaintext) });
  await kms('GenerateDataKey', { KeyId: KEY_ID, KeySpec: 'AES_256' }, { KeyId: KEY_ARN, Plaintext: b64(dataKey), CiphertextBlob: b64(ciphertext) });
  await kms('ReEncrypt', { CiphertextBlob: b64(ciphertext), DestinationKeyId: KEY_ID }, { CiphertextBlob: b64(ciphertext), SourceKeyId: KEY_ARN, KeyId: KEY_ARN });
  await kms('ImportKeyMaterial', { KeyId: KEY_ID, EncryptedKeyMaterial: b64(material), ImportToken: b64(material) }, {});
  await kms('Encrypt', { KeyId: KEY_ID, Plaintext: b64(plaintext) }, undefined, new ValidationException(`Plaintext ${b64(plaintext)} (${plaintext.toString('utf8')}) is invalid`));
  await kms('Decrypt', { CiphertextBlob: b64(ciphertext) }, undefined, new Error(`decrypt failed with key ${dataKey.toString('hex')}`));
  await log.append(secretsApiEvent({ ...ctx, operation: 'CreateSecret', input: { Name: 'prod/db', SecretString: secretString }, output: { ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-x', Name: 'prod/db' } }));
  await log.append(secretsApiEvent({ ...ctx, operation: 'GetSecretValue', input: { SecretId: 'prod/db' }, output: { SecretString: secretString, SecretBinary: b64(dataKey) } }));
  await log.append(secretsApiEvent({ ...ctx, operation: 'GetRandomPassword', input: { PasswordLength: 31 }, output: { RandomPassword: password } }));
  await log.append(adminEvent({ ...ctx, action: 'CreateAccessKey', input: { principalArn: CALLER.arn }, allow: ['principalArn'], output: { accessKeyId: 'AKIANEW0000000000000', secretAccessKey: accessSecret }, allowResponse: ['accessKeyId', 'secretAccessKey'] }));
  await log.append(serviceEvent({ eventName: 'RotateKey', region: 'us-east-1', accountId: ACCOUNT, resources: [KEY_ARN], details: { keyId: KEY_ARN, newMaterial: b64(material) }, now: new Date() }));
  await syslog.flush();
  await log.close();
  await new Promise((r) => setTimeout(r, 50));

  // Everything every sink produced, decrypted where it is encrypted.
  const outputs: Record<string, Buffer> = {
    file: readFileSync(join(dir, 'audit.jsonl')),
    stdout: Buffer.concat(captured),
    syslog: Buffer.concat(srv.raw),
  };
  const store: string[] = [];
  for (const key of await barrier.list('audit/')) {
    if (key === 'audit/signing-key') continue; // holds the signing key, not events
    store.push(key, JSON.stringify((await barrier.getJSON(key))?.value ?? null));
  }
  outputs.store = Buffer.from(store.join('\n'));
  for (const [name, out] of Object.entries(outputs)) assert.ok(out.length > 500, `${name} sink wrote events`);
  assert.equal(outputs.file!.toString().split('\n').filter((l) => l.includes('"eventName"')).length, 13);

  const secrets: Record<string, Buffer> = { plaintext, dataKey, material, password: Buffer.from(password), accessSecret: Buffer.from(accessSecret), ciphertext };
  for (const [what, value] of Object.entries(secrets)) {
    const forms = [value, Buffer.from(value.toString('hex')), Buffer.from(value.toString('hex').toUpperCase()), Buffer.from(value.toString('base64')), Buffer.from(value.toString('base64url'))];
    for (const [sink, out] of Object.entries(outputs)) {
      for (const f of forms) assert.equal(out.includes(f), false, `${what} found in ${sink} output`);
    }
  }
  // what must be there is there: the encryption context and the key
  assert.ok(outputs.file!.toString().includes('"encryptionContext":{"order":"1"}'));
  assert.ok(outputs.syslog!.toString().includes(KEY_ARN));
  await srv.close();
});
