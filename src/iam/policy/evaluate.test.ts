import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, authorizeOrThrow, accessDeniedMessage, type AuthorizeInput } from './evaluate.ts';
import { compilePolicy } from './compile.ts';
import type { RequestContext } from './conditions.ts';

const ACCT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const alice = { arn: `arn:aws:iam::${ACCT}:user/alice`, accountId: ACCT };
const root = { arn: `arn:aws:iam::${ACCT}:root`, accountId: ACCT };
const session = { arn: `arn:aws:sts::${ACCT}:assumed-role/app/s1`, accountId: ACCT, roleArn: `arn:aws:iam::${ACCT}:role/app` };
const outsider = { arn: 'arn:aws:iam::444455556666:user/eve', accountId: '444455556666' };

const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const ROOT_STATEMENT = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' };
const allowAll = doc({ Effect: 'Allow', Action: '*', Resource: '*' });

function run(over: Partial<AuthorizeInput>) {
  return authorize({ principal: alice, action: 'kms:Encrypt', resource: KEY, identityPolicies: [], context: {}, ...over });
}

describe('KMS evaluation logic', () => {
  test('a key policy naming the principal allows without identity policies', () => {
    const d = run({ keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:Encrypt', Resource: '*' }) });
    assert.deepEqual([d.allowed, d.reason, d.via], [true, 'allowed', 'resource']);
    assert.deepEqual(d.matched, [{ policy: 'resource', index: 0, effect: 'Allow' }]);
  });

  test('the account root in the key policy delegates to identity policies, which must allow', () => {
    const denied = run({ keyPolicy: doc(ROOT_STATEMENT) });
    assert.deepEqual([denied.allowed, denied.reason, denied.policyType], [false, 'implicitDeny', 'identity']);
    assert.equal(accessDeniedMessage(denied, alice.arn, 'kms:Encrypt', KEY),
      `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no identity-based policy allows the kms:Encrypt action`);
    const allowed = run({ keyPolicy: doc(ROOT_STATEMENT), identityPolicies: [doc({ Effect: 'Allow', Action: 'kms:Encrypt', Resource: KEY })] });
    assert.deepEqual([allowed.allowed, allowed.via], [true, 'resource+identity']);
    // an account id works like the root ARN
    assert.equal(run({ keyPolicy: doc({ ...ROOT_STATEMENT, Principal: { AWS: ACCT } }), identityPolicies: [allowAll] }).allowed, true);
  });

  test('identity policies alone never reach a key whose policy does not delegate', () => {
    const d = run({ keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:user/bob` }, Action: 'kms:*', Resource: '*' }), identityPolicies: [allowAll] });
    assert.deepEqual([d.allowed, d.reason, d.policyType], [false, 'implicitDeny', 'resource']);
    assert.throws(() => authorizeOrThrow({ principal: alice, action: 'kms:Encrypt', resource: KEY, identityPolicies: [allowAll], context: {}, keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:user/bob` }, Action: 'kms:*', Resource: '*' }) }), {
      name: 'AccessDeniedException',
      message: `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no resource-based policy allows the kms:Encrypt action`,
    });
  });

  test('explicit deny in the key policy or an identity policy wins, with the matching message', () => {
    const keyDeny = run({ keyPolicy: doc(ROOT_STATEMENT, { Effect: 'Deny', Principal: '*', Action: 'kms:Encrypt', Resource: '*' }), identityPolicies: [allowAll] });
    assert.deepEqual([keyDeny.reason, keyDeny.policyType], ['explicitDeny', 'resource']);
    assert.equal(accessDeniedMessage(keyDeny, alice.arn, 'kms:Encrypt', KEY), `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} with an explicit deny in a resource-based policy`);
    const idDeny = run({ keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:*', Resource: '*' }), identityPolicies: [allowAll, doc({ Effect: 'Deny', Action: 'kms:Enc*', Resource: '*' })] });
    assert.deepEqual([idDeny.reason, idDeny.policyType], ['explicitDeny', 'identity']);
    assert.equal(accessDeniedMessage(idDeny, alice.arn, 'kms:Encrypt', KEY), `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} with an explicit deny in an identity-based policy`);
    // a deny naming the account applies to everyone in it; grants do not override a deny
    const acctDeny = run({ keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Principal: { AWS: ACCT }, Action: 'kms:*', Resource: '*' }), grantAllows: true });
    assert.equal(acctDeny.reason, 'explicitDeny');
  });

  test('the root user is named by the root statement; a grant allows when nothing denies', () => {
    assert.equal(run({ principal: root, keyPolicy: doc(ROOT_STATEMENT) }).allowed, true);
    const g = run({ keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:user/bob` }, Action: 'kms:*', Resource: '*' }), grantAllows: true });
    assert.deepEqual([g.allowed, g.via], [true, 'grant']);
  });

  test('a role ARN in the key policy matches its sessions; a session ARN only that session', () => {
    assert.equal(run({ principal: session, keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: session.roleArn }, Action: 'kms:Encrypt', Resource: '*' }) }).allowed, true);
    assert.equal(run({ principal: session, keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: session.arn }, Action: 'kms:Encrypt', Resource: '*' }) }).allowed, true);
    assert.equal(run({ principal: { ...session, arn: session.arn.replace('s1', 's2') }, keyPolicy: doc({ Effect: 'Allow', Principal: { AWS: session.arn }, Action: 'kms:Encrypt', Resource: '*' }) }).allowed, false);
  });

  test('cross-account: the key policy and the caller\'s identity policy must both allow', () => {
    const kp = doc({ Effect: 'Allow', Principal: { AWS: outsider.arn }, Action: 'kms:Encrypt', Resource: '*' });
    assert.deepEqual(run({ principal: outsider, keyPolicy: kp }).policyType, 'identity');
    assert.equal(run({ principal: outsider, keyPolicy: kp, identityPolicies: [allowAll] }).allowed, true);
    assert.equal(run({ principal: outsider, keyPolicy: doc(ROOT_STATEMENT), identityPolicies: [allowAll] }).allowed, false);
  });

  test('NotPrincipal + Deny denies everyone but the named principal', () => {
    const kp = doc({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', NotPrincipal: { AWS: alice.arn }, Action: 'kms:*', Resource: '*' });
    assert.equal(run({ keyPolicy: kp }).allowed, true);
    assert.equal(run({ principal: { ...alice, arn: `arn:aws:iam::${ACCT}:user/bob` }, keyPolicy: kp }).reason, 'explicitDeny');
  });

  test('identity-only evaluation (no resource policy) for the admin API', () => {
    const d = authorize({ principal: alice, action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCT}:user/x`, identityPolicies: [], context: {} });
    assert.deepEqual([d.allowed, d.policyType], [false, 'identity']);
    assert.equal(authorize({ principal: alice, action: 'iam:CreateUser', resource: `arn:aws:iam::${ACCT}:user/x`, identityPolicies: [doc({ Effect: 'Allow', Action: 'iam:*', Resource: '*' })], context: {} }).allowed, true);
  });
});

describe('Action, Resource and their Not forms', () => {
  const kp = (st: object) => doc({ Effect: 'Allow', Principal: { AWS: alice.arn }, Resource: '*', ...st });
  test('action names are case-insensitive and take wildcards', () => {
    assert.equal(run({ keyPolicy: kp({ Action: 'KMS:encrypt' }) }).allowed, true);
    assert.equal(run({ keyPolicy: kp({ Action: 'kms:En?rypt' }) }).allowed, true);
    assert.equal(run({ action: 'kms:GenerateDataKeyWithoutPlaintext', keyPolicy: kp({ Action: 'kms:GenerateDataKey*' }) }).allowed, true);
    assert.equal(run({ action: 'kms:Decrypt', keyPolicy: kp({ Action: 'kms:GenerateDataKey*' }) }).allowed, false);
  });
  test('NotAction matches every action except those listed', () => {
    assert.equal(run({ keyPolicy: kp({ NotAction: 'kms:Encrypt' }) }).allowed, false);
    assert.equal(run({ action: 'kms:Decrypt', keyPolicy: kp({ NotAction: 'kms:Encrypt' }) }).allowed, true);
  });
  test('Resource and NotResource match ARNs with wildcards, case-sensitively', () => {
    const id = (r: object) => [doc({ Effect: 'Allow', Action: 'kms:*', ...r })];
    assert.equal(run({ identityPolicies: id({ Resource: `arn:aws:kms:*:${ACCT}:key/*` }) }).allowed, true);
    assert.equal(run({ identityPolicies: id({ Resource: `arn:aws:kms:us-west-2:${ACCT}:key/*` }) }).allowed, false);
    assert.equal(run({ identityPolicies: id({ Resource: KEY.replace('1234abcd', '1234ABCD') }) }).allowed, false);
    assert.equal(run({ identityPolicies: id({ NotResource: KEY }) }).allowed, false);
    assert.equal(run({ identityPolicies: id({ NotResource: `arn:aws:kms:us-east-1:${ACCT}:alias/*` }) }).allowed, true);
  });
});

describe('Condition operators', () => {
  const when = (Condition: object, context: RequestContext, action = 'kms:Encrypt') =>
    authorize({ principal: alice, action, resource: KEY, identityPolicies: [doc({ Effect: 'Allow', Action: '*', Resource: '*', Condition })], context }).allowed;

  test('String operators, case rules and missing keys', () => {
    assert.equal(when({ StringEquals: { 'aws:username': 'alice' } }, { 'aws:username': 'alice' }), true);
    assert.equal(when({ StringEquals: { 'aws:username': 'alice' } }, { 'aws:username': 'Alice' }), false);
    assert.equal(when({ StringEquals: { 'AWS:UserName': ['bob', 'alice'] } }, { 'aws:username': 'alice' }), true, 'key names are case-insensitive; values OR');
    assert.equal(when({ StringEquals: { 'aws:username': 'alice' } }, { 'AWS:USERNAME': 'alice' }), true, 'context keys are case-insensitive too');
    assert.equal(when({ StringEquals: { 'aws:username': 'alice' } }, {}), false, 'missing key: false');
    assert.equal(when({ StringNotEquals: { 'aws:username': 'alice' } }, {}), true, 'missing key, negated operator: true');
    assert.equal(when({ StringNotEquals: { 'aws:username': 'alice' } }, { 'aws:username': 'bob' }), true);
    assert.equal(when({ StringEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }), true);
    assert.equal(when({ StringNotEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }), false);
    assert.equal(when({ StringLike: { 'kms:RequestAlias': 'alias/app-*' } }, { 'kms:requestalias': 'alias/app-prod' }), true);
    assert.equal(when({ StringNotLike: { 'kms:RequestAlias': 'alias/app-*' } }, { 'kms:requestalias': 'alias/app-prod' }), false);
    assert.equal(when({ StringEqualsIfExists: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } }, {}), true);
    assert.equal(when({ StringEqualsIfExists: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } }, { 'kms:viaservice': 'rds.us-east-1.amazonaws.com' }), false);
  });

  test('encryption context keys (kms:EncryptionContext:<key>) and set operators', () => {
    const ctx = { 'kms:encryptioncontext:department': 'it', 'kms:encryptioncontextkeys': ['Department', 'Project'] };
    assert.equal(when({ StringEquals: { 'kms:EncryptionContext:Department': 'it' } }, ctx), true);
    assert.equal(when({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['Department', 'Project', 'Owner'] } }, ctx), true);
    assert.equal(when({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['Department'] } }, ctx), false);
    assert.equal(when({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['Department'] } }, {}), true, 'ForAllValues: missing key is true');
    assert.equal(when({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'Project' } }, ctx), true);
    assert.equal(when({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'Owner' } }, ctx), false);
    assert.equal(when({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'Owner' } }, {}), false, 'ForAnyValue: missing key is false');
    assert.equal(when({ 'ForAnyValue:StringNotEquals': { 'kms:EncryptionContextKeys': 'Department' } }, ctx), true, 'Project differs from Department');
    assert.equal(when({ 'ForAllValues:StringLike': { 'kms:GrantOperations': ['Encrypt', 'Decrypt', 'GenerateDataKey*'] } }, { 'kms:grantoperations': ['Decrypt', 'GenerateDataKeyPair'] }), true);
    assert.equal(when({ 'ForAllValues:StringLike': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] } }, { 'kms:grantoperations': ['Decrypt', 'RetireGrant'] }), false);
  });

  test('Numeric, Date, Bool, Null', () => {
    assert.equal(when({ NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } }, { 'aws:multifactorauthage': 100 }), true);
    assert.equal(when({ NumericGreaterThanEquals: { 'aws:MultiFactorAuthAge': 3600 } }, { 'aws:multifactorauthage': 100 }), false);
    assert.equal(when({ NumericNotEquals: { 'aws:MultiFactorAuthAge': '100' } }, { 'aws:multifactorauthage': 100 }), false);
    assert.equal(when({ DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:currenttime': '2024-05-01T10:00:00Z' }), true);
    assert.equal(when({ DateGreaterThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }, { 'aws:currenttime': '2024-05-01T10:00:00Z' }), false);
    assert.equal(when({ DateEquals: { 'aws:CurrentTime': '1714557600' } }, { 'aws:currenttime': '2024-05-01T10:00:00Z' }), true, 'epoch seconds and ISO 8601 compare');
    assert.equal(when({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:multifactorauthpresent': true }), true);
    assert.equal(when({ Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, { 'aws:multifactorauthpresent': false }), false);
    assert.equal(when({ Bool: { 'aws:SecureTransport': false } }, { 'aws:securetransport': false }), true);
    assert.equal(when({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } }, {}), true);
    assert.equal(when({ Null: { 'aws:MultiFactorAuthPresent': 'true' } }, {}), true);
    assert.equal(when({ Null: { 'aws:MultiFactorAuthPresent': 'false' } }, {}), false);
    assert.equal(when({ Null: { 'kms:EncryptionContextKeys': 'true' } }, { 'kms:encryptioncontextkeys': [] }), true, 'an empty set is null');
  });

  test('IpAddress / NotIpAddress with IPv4 and IPv6 CIDRs', () => {
    assert.equal(when({ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } }, { 'aws:sourceip': '10.1.2.3' }), true);
    assert.equal(when({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:sourceip': '::ffff:10.1.2.3' }), true, 'IPv4-mapped IPv6');
    assert.equal(when({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:sourceip': '2001:db8:1::5' }), true);
    assert.equal(when({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:sourceip': '2001:db9::5' }), false);
    assert.equal(when({ IpAddress: { 'aws:SourceIp': '192.0.2.7' } }, { 'aws:sourceip': '192.0.2.7' }), true, 'a bare address is /32');
    assert.equal(when({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:sourceip': '192.0.2.7' }), true);
    assert.equal(when({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:sourceip': '10.0.0.1' }), false);
  });

  test('Arn operators match component by component', () => {
    const arn = `arn:aws:iam::${ACCT}:role/app`;
    assert.equal(when({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::*:role/*` } }, { 'aws:principalarn': arn }), true);
    assert.equal(when({ ArnEquals: { 'aws:PrincipalArn': arn } }, { 'aws:principalarn': arn }), true);
    assert.equal(when({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::*:user/*` } }, { 'aws:principalarn': arn }), false);
    assert.equal(when({ ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::*:user/*` } }, { 'aws:principalarn': arn }), true);
    assert.equal(when({ ArnNotEquals: { 'aws:PrincipalArn': arn } }, { 'aws:principalarn': arn }), false);
    assert.equal(when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } }, { 'aws:principalarn': arn }), true, 'a short pattern\'s last part takes the rest');
  });
});

test('compiled policies are cached by text: evaluation parses nothing per call', () => {
  const text = doc(ROOT_STATEMENT, { Sid: 'users', Effect: 'Allow', Principal: { AWS: [alice.arn, `arn:aws:iam::${ACCT}:role/app`] }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:app': 'billing' } } });
  assert.equal(compilePolicy(text, 'resource'), compilePolicy(text, 'resource'));
  const input: AuthorizeInput = { principal: alice, action: 'kms:Encrypt', resource: KEY, keyPolicy: text, identityPolicies: [], context: { 'kms:encryptioncontext:app': 'billing', 'kms:calleraccount': ACCT } };
  assert.equal(authorize(input).allowed, true);
  // Counted, not timed (a benchmark is no test): once compiled, a call parses no policy text.
  const parse = JSON.parse;
  let parses = 0;
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => { parses++; return parse(...args); }) as typeof JSON.parse;
  try {
    for (let i = 0; i < 1000; i++) assert.equal(authorize(input).allowed, true);
  } finally {
    JSON.parse = parse;
  }
  assert.equal(parses, 0, 'authorize parsed policy text on a cached policy');
});
