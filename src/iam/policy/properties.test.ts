// Property tests of the policy evaluator (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { authorize, type AuthorizeInput } from './evaluate.ts';
import { globMatch } from './wildcard.ts';

const ACCT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/k1`;
const OTHER = `arn:aws:kms:us-east-1:${ACCT}:key/k2`;
const USERS = [`arn:aws:iam::${ACCT}:user/alice`, `arn:aws:iam::${ACCT}:user/bob`, `arn:aws:iam::${ACCT}:root`];
const ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'];
const ACTION_PATTERNS = [...ACTIONS, 'kms:*', '*', 'kms:Enc*', 'kms:Gen?rate*', 'KMS:DECRYPT', 'kms:*Key*'];

const principalArb = fc.oneof(
  fc.constant('*' as unknown),
  fc.record({ AWS: fc.constantFrom(...USERS, ACCT) }),
  fc.record({ AWS: fc.subarray(USERS, { minLength: 1 }) }),
);
const conditionArb = fc.option(fc.constantFrom<object>(
  { StringEquals: { 'kms:EncryptionContext:app': 'billing' } },
  { StringNotEquals: { 'kms:EncryptionContext:app': 'billing' } },
  { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
  { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
  { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } },
  { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['app'] } },
  { Null: { 'kms:EncryptionContextKeys': 'true' } },
), { nil: undefined });

function statementArb(withPrincipal: boolean, effect?: 'Allow' | 'Deny') {
  return fc.record({
    effect: effect ? fc.constant(effect) : fc.constantFrom('Allow', 'Deny'),
    principal: principalArb,
    notPrincipal: fc.boolean(),
    actions: fc.subarray(ACTION_PATTERNS, { minLength: 1, maxLength: 3 }),
    notAction: fc.boolean(),
    resource: fc.constantFrom('*', KEY, OTHER, `arn:aws:kms:*:${ACCT}:key/*`),
    notResource: fc.boolean(),
    condition: conditionArb,
  }).map((s) => {
    const st: Record<string, unknown> = { Effect: s.effect };
    if (withPrincipal) st[s.notPrincipal && s.principal !== '*' ? 'NotPrincipal' : 'Principal'] = s.principal;
    st[s.notAction ? 'NotAction' : 'Action'] = s.actions;
    st[s.notResource && s.resource !== '*' ? 'NotResource' : 'Resource'] = s.resource;
    if (s.condition) st['Condition'] = s.condition;
    return st;
  });
}
const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

const requestArb = fc.record({
  principal: fc.constantFrom(...USERS),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(KEY, OTHER),
  keyStatements: fc.array(statementArb(true), { minLength: 1, maxLength: 5 }),
  identityStatements: fc.array(fc.array(statementArb(false), { minLength: 1, maxLength: 4 }), { maxLength: 3 }),
  context: fc.record({
    'kms:encryptioncontext:app': fc.constantFrom('billing', 'hr'),
    'kms:encryptioncontextkeys': fc.constantFrom(['app'], ['app', 'x'], []),
    'aws:multifactorauthpresent': fc.boolean(),
    'aws:sourceip': fc.constantFrom('10.1.1.1', '192.0.2.1', '::ffff:10.9.9.9'),
  }, { requiredKeys: [] }),
  grantAllows: fc.boolean(),
});

type Req = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;
function input(r: Req, over: { key?: object[]; identity?: object[][] } = {}): AuthorizeInput {
  return {
    principal: { arn: r.principal, accountId: ACCT }, action: r.action, resource: r.resource,
    keyPolicy: doc(over.key ?? r.keyStatements), identityPolicies: (over.identity ?? r.identityStatements).map(doc),
    context: r.context, grantAllows: r.grantAllows,
  };
}

test('adding an explicit Deny never turns a deny into an allow', () => {
  fc.assert(fc.property(requestArb, statementArb(true, 'Deny'), statementArb(false, 'Deny'), fc.boolean(), (r, kd, id, toKey) => {
    const before = authorize(input(r));
    const after = authorize(toKey ? input(r, { key: [...r.keyStatements, kd] }) : input(r, { identity: [...r.identityStatements, [id]] }));
    if (after.allowed) assert.equal(before.allowed, true);
    if (before.reason === 'explicitDeny') assert.equal(after.reason, 'explicitDeny');
  }), { numRuns: 500 });
});

test('evaluation does not depend on statement or policy order', () => {
  fc.assert(fc.property(requestArb, fc.integer(), (r, seed) => {
    const shuffle = <T>(xs: T[]): T[] => {
      const a = [...xs];
      let s = seed >>> 0;
      for (let i = a.length - 1; i > 0; i--) {
        s = (s * 1103515245 + 12345) >>> 0;
        const j = s % (i + 1);
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    };
    const a = authorize(input(r));
    const b = authorize(input(r, { key: shuffle(r.keyStatements), identity: shuffle(r.identityStatements.map(shuffle)) }));
    assert.deepEqual([b.allowed, b.reason, b.policyType, b.via], [a.allowed, a.reason, a.policyType, a.via]);
  }), { numRuns: 500 });
});

test('a statement with NotAction X never matches X', () => {
  fc.assert(fc.property(fc.constantFrom(...ACTIONS), fc.subarray(ACTION_PATTERNS, { minLength: 0, maxLength: 3 }), fc.constantFrom(...USERS), (action, others, principal) => {
    const notActions = [action, ...others];
    const d = authorize({
      principal: { arn: principal, accountId: ACCT }, action, resource: KEY, context: {},
      keyPolicy: doc([{ Effect: 'Allow', Principal: '*', NotAction: notActions, Resource: '*' }]),
      identityPolicies: [doc([{ Effect: 'Allow', NotAction: notActions, Resource: '*' }])],
    });
    assert.equal(d.allowed, false);
    // and the same statement as a Deny never denies X
    const d2 = authorize({
      principal: { arn: principal, accountId: ACCT }, action, resource: KEY, context: {},
      keyPolicy: doc([{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }, { Effect: 'Deny', Principal: '*', NotAction: notActions, Resource: '*' }]),
      identityPolicies: [],
    });
    assert.equal(d2.allowed, true);
  }), { numRuns: 300 });
});

test('wildcard matching agrees with a reference regular-expression implementation', () => {
  const reference = (pattern: string, s: string) =>
    new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's').test(s);
  const pat = fc.array(fc.constantFrom('a', 'b', ':', '*', '?', '.', '('), { maxLength: 8 }).map((xs) => xs.join(''));
  const str = fc.array(fc.constantFrom('a', 'b', ':', '.', '(', '\n'), { maxLength: 10 }).map((xs) => xs.join(''));
  fc.assert(fc.property(pat, str, (p, s) => {
    assert.equal(globMatch(p, s), reference(p, s), `pattern ${JSON.stringify(p)} on ${JSON.stringify(s)}`);
  }), { numRuns: 5000 });
});

test('removing every Allow from the identity policies never grants more', () => {
  fc.assert(fc.property(requestArb, (r) => {
    const full = authorize(input(r));
    const onlyDenies = authorize(input(r, { identity: r.identityStatements.map((p) => p.filter((s) => s['Effect' as keyof typeof s] === 'Deny')).filter((p) => p.length > 0) }));
    if (onlyDenies.allowed) assert.equal(full.allowed, true);
  }), { numRuns: 300 });
});
