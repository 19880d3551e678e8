// Authenticator: the synchronous path taken when the key (or session) and its principal are cached
// must answer exactly as the path that reads them from storage, for every outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IamService } from './service.ts';
import { ACCOUNT, REGION, signed, testIam } from './testing.ts';
import type { SignedRequest } from './sigv4.ts';
import type { Identity } from './identity.ts';

type Outcome = { identity: Omit<Identity, 'identityPolicies'> & { policies: number } } | { error: { name: string; message: string } };

async function outcome(iam: IamService, req: SignedRequest, service = 'kms'): Promise<Outcome> {
  try {
    const { identityPolicies, ...identity } = await iam.authenticate(req, service);
    return { identity: { ...identity, policies: identityPolicies.length } };
  } catch (e) {
    return { error: { name: (e as Error).name, message: (e as Error).message } };
  }
}

test('authenticate: the cached path and the storage path give the same identity or the same error', async () => {
  const t = await testIam({ ttlMs: 60_000 });
  const { iam, barrier, clock } = t;
  const carol = await iam.principals.createUser('carol');
  const carolKey = await iam.accessKeys.create(carol);
  const erin = await iam.principals.createUser('erin');
  const erinKey = await iam.accessKeys.create(erin);
  await iam.accessKeys.setStatus(erinKey.accessKeyId, 'Inactive', 'erin');
  const longTerm = await iam.authenticate(signed(carolKey, { now: clock.now(), service: 'sts' }), 'sts');
  const session = await iam.sts.getSessionToken(longTerm, { durationSeconds: 900 });

  const badSignature = (req: SignedRequest): SignedRequest => {
    const auth = req.headers['authorization'] as string;
    return { ...req, headers: { ...req.headers, authorization: auth.slice(0, -4) + (auth.endsWith('0000') ? '1111' : '0000') } };
  };
  const cases: [string, () => SignedRequest][] = [
    ['bootstrap administrator', () => signed(t.admin, { now: clock.now() })],
    ['IAM user', () => signed(carolKey, { now: clock.now() })],
    ['IAM user, wrong signature', () => badSignature(signed(carolKey, { now: clock.now() }))],
    ['inactive key', () => signed(erinKey, { now: clock.now() })],
    ['unknown key', () => signed({ accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'x'.repeat(40) }, { now: clock.now() })],
    ['session', () => signed(session, { now: clock.now() })],
    ['session without its token', () => signed({ accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey }, { now: clock.now() })],
    ['session, wrong signature', () => badSignature(signed(session, { now: clock.now() }))],
    ['unknown session', () => signed({ accessKeyId: 'ASIAUNKNOWN000000001', secretAccessKey: 'x'.repeat(40), sessionToken: 'tok' }, { now: clock.now() })],
    ['long-term key with a session token', () => signed({ ...carolKey, sessionToken: 'tok' }, { now: clock.now() })],
  ];
  for (const [name, req] of cases) {
    // a fresh service over the same storage: empty caches, so its first answer reads the records
    const cold = new IamService({ barrier, accountId: ACCOUNT, region: REGION, clock: clock.now, cacheTtlMs: 60_000 });
    const fromStorage = await outcome(cold, req());
    const fromCache = await outcome(cold, req());
    assert.deepEqual(fromCache, fromStorage, name);
  }

  // a key deleted through this service after it was cached: refused from the cache at once
  const warm = new IamService({ barrier, accountId: ACCOUNT, region: REGION, clock: clock.now, cacheTtlMs: 60_000 });
  assert.ok('identity' in (await outcome(warm, signed(carolKey, { now: clock.now() }))));
  await warm.accessKeys.delete(carolKey.accessKeyId, 'carol');
  assert.deepEqual(await outcome(warm, signed(carolKey, { now: clock.now() })), {
    error: { name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
  });
});

test('authenticate: an expired session is refused from the cache as from storage', async () => {
  const t = await testIam({ ttlMs: 3_600_000 });
  const { iam, clock } = t;
  const dana = await iam.principals.createUser('dana');
  const key = await iam.accessKeys.create(dana);
  const longTerm = await iam.authenticate(signed(key, { now: clock.now(), service: 'sts' }), 'sts');
  const session = await iam.sts.getSessionToken(longTerm, { durationSeconds: 900 });
  assert.equal((await iam.authenticate(signed(session, { now: clock.now() }), 'kms')).arn, dana.arn);
  clock.advance(901_000);
  await assert.rejects(iam.authenticate(signed(session, { now: clock.now() }), 'kms'), { name: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
});
