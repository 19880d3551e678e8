// Request quotas end to end: ThrottlingException in AWS's shape for the excess only, the SDK's
// standard retry mode completing every request, and a second principal not starved by a first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';

let s: TestServer;
let keyId: string;
let skew = 0; // the server's clock runs this far ahead of the wall clock: moved instead of sleeping
const RATE = 40; // account-wide kms:cryptographic; each principal may use half (principalShare 0.5)
before(async () => {
  s = await startTestServer({ env: { REKEY_QUOTAS: 'on', REKEY_QUOTA_RATES: `kms:cryptographic=${RATE}` }, clock: () => new Date(Date.now() + skew) });
  keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
});
after(async () => { await s.cleanup(); });

async function user(name: string) {
  const u = await s.iam.principals.createUser(name);
  await s.iam.principals.putPolicy('user', name, 'all', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }));
  const k = await s.iam.accessKeys.create(u);
  return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
}

test('quotas: a burst above the quota gets ThrottlingException (HTTP 400, AWS shape) for the excess only', async () => {
  const creds = await user('burst');
  const body = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.from('x').toString('base64') });
  const t0 = Date.now();
  const res = await Promise.all(Array.from({ length: 60 }, () => s.raw('TrentService.Encrypt', body, { creds })));
  const elapsed = (Date.now() - t0) / 1000;
  const ok = res.filter((r) => r.status === 200).length;
  const throttled = res.filter((r) => r.status !== 200);
  for (const r of throttled) {
    assert.equal(r.status, 400);
    assert.equal(r.json.__type, 'ThrottlingException');
    assert.equal(r.json.message, 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.');
    assert.equal(r.headers.get('x-amzn-errortype'), 'ThrottlingException');
  }
  // the principal's bucket holds RATE/2 requests; what it admits beyond that is what refilled meanwhile
  const share = RATE / 2;
  assert.ok(ok >= share, `admitted ${ok}, expected at least the burst of ${share}`);
  assert.ok(ok <= share + Math.ceil(elapsed * share) + 1, `admitted ${ok} in ${elapsed}s: more than the quota`);
  assert.equal(ok + throttled.length, 60);
  // throttled calls are in the audit trail with their error code, as CloudTrail records them
  await s.audit.settled(); // the group commit
  const events = await s.audit.lookup({ eventName: 'Encrypt', principal: 'arn:aws:iam::111122223333:user/burst', maxResults: 1000 });
  const codes = events.events.map((e) => e.event.errorCode ?? 'ok');
  assert.equal(codes.filter((c) => c === 'ThrottlingException').length, throttled.length);
});

test('quotas: the SDK standard retry mode completes every request above the quota; a second principal is not starved', async () => {
  skew += 1100; // buckets full again
  const noisy = s.kmsClient(await user('noisy'), { retryMode: 'standard', maxAttempts: 10 });
  const quiet = s.kmsClient(await user('quiet')); // no retries: any throttle fails the test
  let done = 0;
  let quietOk = 0;
  let stop = false;
  const flood = (async () => {
    const queue = Array.from({ length: 80 }, (_, i) => i);
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (queue.shift() !== undefined) {
        await noisy.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('n') }));
        done++;
      }
    }));
    stop = true;
  })();
  const steady = (async () => {
    while (!stop) {
      await quiet.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('q') }));
      quietOk++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  await Promise.all([flood, steady]);
  assert.equal(done, 80);
  assert.ok(quietOk >= 2, `quiet principal completed ${quietOk}`);
  // the flood really was over quota: the noisy principal was throttled (and retried) along the way
  await s.audit.settled(); // the group commit
  const ev = await s.audit.lookup({ eventName: 'Encrypt', principal: 'arn:aws:iam::111122223333:user/noisy', maxResults: 1000 });
  const throttles = ev.events.filter((e) => e.event.errorCode === 'ThrottlingException').length;
  assert.ok(throttles > 0, 'the noisy principal was never throttled');
  assert.equal(ev.events.length - throttles, 80);
});
