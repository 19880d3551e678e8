import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryBackend } from '../../storage/memory.ts';
import { CALLER, b64, harness, rejects, user } from '../testing.ts';
import { KmsService } from '../service.ts';
import { constraintsAllow, coversOperation, noBroaderThan, principalMatch } from './match.ts';
import type { GrantTerms } from './model.ts';

test('grant constraints: keys are case-insensitive, values case-sensitive (AWS GrantConstraints)', () => {
  assert.equal(constraintsAllow({ subset: { Tenant: 'a' } }, { tenant: 'a', x: 'y' }), true);
  assert.equal(constraintsAllow({ subset: { Tenant: 'a' } }, { tenant: 'A' }), false);
  assert.equal(constraintsAllow({ subset: { t: 'a' } }, undefined), false);
  assert.equal(constraintsAllow({ equals: { t: 'a' } }, { T: 'a' }), true);
  assert.equal(constraintsAllow({ equals: { t: 'a' } }, { t: 'a', u: 'b' }), false);
  assert.equal(constraintsAllow(undefined, undefined), true);
  const g: GrantTerms = { grantId: 'g', granteePrincipal: 'p', operations: ['Encrypt', 'DescribeKey'], constraints: { subset: { t: 'a' } } };
  assert.equal(coversOperation(g, 'Encrypt', {}), false);
  assert.equal(coversOperation(g, 'DescribeKey', {}), true, 'constraints do not apply to DescribeKey');
  assert.equal(coversOperation(g, 'Decrypt', { t: 'a' }), false);
});

// Issue 17, item 7: key case folded last-wins, so a second spelling of a constrained key decided
// the match (and key order changed the answer).
test('grant constraints: a second spelling of a constrained key with another value is refused, whatever the order', () => {
  assert.equal(constraintsAllow({ subset: { app: 'billing' } }, { app: 'hr', APP: 'billing' }), false);
  assert.equal(constraintsAllow({ subset: { app: 'billing' } }, { APP: 'billing', app: 'hr' }), false);
  assert.equal(constraintsAllow({ equals: { a: '1' } }, { A: 'z', a: '1' }), false);
  assert.equal(constraintsAllow({ equals: { a: '1' } }, { a: '1', A: 'z' }), false);
  // the same value under two spellings is still the same pair
  assert.equal(constraintsAllow({ subset: { app: 'billing' } }, { app: 'billing', APP: 'billing' }), true);
  assert.equal(constraintsAllow({ equals: { a: '1' } }, { A: '1', a: '1' }), true);
});

const spellings = fc.constantFrom('app', 'APP', 'App', 'x', 'X');
const values = fc.constantFrom('billing', 'hr', 'Billing');
test('property: the constraint answer does not depend on key order, and never admits a request whose spelling of a key carries another value', () => {
  const pairs = fc.uniqueArray(fc.tuple(spellings, values), { selector: (p) => p[0], maxLength: 5 });
  fc.assert(fc.property(pairs, pairs, fc.boolean(), (constraint, request, equals) => {
    const c = equals ? { equals: Object.fromEntries(constraint) } : { subset: Object.fromEntries(constraint) };
    const forward = constraintsAllow(c, Object.fromEntries(request));
    assert.equal(constraintsAllow(c, Object.fromEntries([...request].reverse())), forward, 'key order changed the answer');
    if (!forward) return;
    for (const [ck, cv] of constraint) {
      const cvs = new Set(constraint.filter(([k]) => k.toLowerCase() === ck.toLowerCase()).map(([, v]) => v));
      const seen = request.filter(([rk]) => rk.toLowerCase() === ck.toLowerCase());
      assert.ok(seen.some(([, rv]) => rv === cv), `constrained pair ${ck}=${cv} missing`);
      for (const [rk, rv] of seen) assert.ok(cvs.has(rv), `${rk}=${rv} admitted against ${ck}=${cv}`);
    }
    if (equals) for (const [rk] of request) assert.ok(constraint.some(([ck]) => ck.toLowerCase() === rk.toLowerCase()), `extra key ${rk} admitted by equals`);
  }), { numRuns: 5000 });
});

test('grantee principals: exact ARN, a role names its sessions, an account root names its principals through IAM', () => {
  const session = { arn: 'arn:aws:sts::111122223333:assumed-role/app/s1', accountId: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/app' };
  assert.equal(principalMatch('arn:aws:iam::111122223333:role/app', session), 'direct');
  assert.equal(principalMatch('arn:aws:sts::111122223333:assumed-role/app/s1', session), 'direct');
  assert.equal(principalMatch('arn:aws:sts::111122223333:assumed-role/app/s2', session), 'none');
  assert.equal(principalMatch('arn:aws:iam::111122223333:root', session), 'account');
  assert.equal(principalMatch('arn:aws:iam::444455556666:root', session), 'none');
});

const ctxArb = fc.dictionary(fc.constantFrom('a', 'A', 'b', 'c'), fc.constantFrom('1', '2'), { maxKeys: 3 });
const constraintsArb = fc.option(fc.oneof(fc.record({ subset: ctxArb }), fc.record({ equals: ctxArb })), { nil: undefined });
const termsArb = fc.record({
  operations: fc.subarray(['Encrypt', 'Decrypt', 'GenerateDataKey', 'DescribeKey', 'CreateGrant'], { minLength: 1 }),
  constraints: constraintsArb,
});

test('property: a grant created through a parent grant never allows a request the parent would not', () => {
  fc.assert(fc.property(termsArb, termsArb, fc.constantFrom('Encrypt', 'Decrypt', 'GenerateDataKey', 'DescribeKey'), ctxArb, (p, c, op, ctx) => {
    const parent: GrantTerms = { grantId: 'p', granteePrincipal: 'x', operations: p.operations, ...(p.constraints ? { constraints: p.constraints } : {}) };
    const child: GrantTerms = { grantId: 'c', granteePrincipal: 'x', operations: c.operations, ...(c.constraints ? { constraints: c.constraints } : {}) };
    if (noBroaderThan(child, parent) && coversOperation(child, op, ctx)) assert.ok(coversOperation(parent, op, ctx));
  }), { numRuns: 2000 });
});

test('a grant token lets a node whose cache predates the grant use it at once; revocation ends it within the cache TTL', async () => {
  const backend = new MemoryBackend();
  const a = await harness({ backend, cacheTtlMs: 150 });
  // node B: its own KmsService (own caches) on the same store, its cache on an injected clock
  let mono = 0;
  const b = new KmsService({ barrier: a.barrier, region: 'us-east-1', accountId: '111122223333', iam: a.iam, cacheTtlMs: 150, cacheClock: () => mono });
  const alice = user('alice');
  const md = await a.createKey();
  const enc = (tokens?: string[]) => b.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), ...(tokens ? { GrantTokens: tokens } : {}) }, alice);
  await b.call('DescribeKey', { KeyId: md.KeyId }, CALLER); // B caches the key, without the grant
  const g = await a.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt'] });
  const token = String(g['GrantToken']);
  await rejects(enc(), 'AccessDeniedException', /kms:Encrypt/); // B has not seen the grant yet
  await enc([token]); // the token carries it
  mono += 200; // past B's cache TTL
  await enc(); // B has refreshed: the grant itself works
  await a.call('RevokeGrant', { KeyId: md.KeyId, GrantId: g['GrantId'] });
  await enc([token]); // within B's TTL the token still works (B's cached key predates the revocation)
  mono += 200;
  await rejects(enc([token]), 'AccessDeniedException', /kms:Encrypt/); // B has seen the revocation: the token is dead too
  b.close();
});
