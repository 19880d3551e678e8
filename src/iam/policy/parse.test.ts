import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from './parse.ts';

const ok = (s: object) => JSON.stringify({ Version: '2012-10-17', Statement: [s] });
const bad = (text: string, kind: 'identity' | 'resource' | 'trust', message: string | RegExp) =>
  assert.throws(() => parsePolicy(text, kind), { name: 'MalformedPolicyDocumentException', message });

test('a valid identity policy parses into statements with lower-cased condition keys', () => {
  const p = parsePolicy(ok({ Sid: 'A1', Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:Dept': 'x' } } }), 'identity');
  assert.equal(p.statements.length, 1);
  assert.deepEqual(p.statements[0]!.conditions, [{ operator: 'StringEquals', qualifier: undefined, ifExists: false, key: 'kms:encryptioncontext:dept', values: ['x'] }]);
});

test('a single Statement object (not a list) is accepted', () => {
  const p = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: { Effect: 'Deny', Action: 'kms:*', Resource: '*' } }), 'identity');
  assert.equal(p.statements[0]!.effect, 'Deny');
});

test('malformed documents get IAM-style messages', () => {
  bad('{', 'identity', 'Syntax errors in policy.');
  bad('[]', 'identity', 'Syntax errors in policy.');
  bad(JSON.stringify({ Version: '2012-10-17' }), 'identity', 'Missing required field Statement');
  bad(ok({ Action: 'kms:*', Resource: '*' }), 'identity', 'Missing required field Effect');
  bad(ok({ Effect: 'Permit', Action: 'kms:*', Resource: '*' }), 'identity', 'Invalid effect: Permit');
  bad(ok({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' }), 'identity', 'Has prohibited field Principal');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }), 'resource', 'Missing required field Principal');
  bad(ok({ Effect: 'Allow', Resource: '*' }), 'identity', 'Policy statement must contain actions.');
  bad(ok({ Effect: 'Allow', Action: [], Resource: '*' }), 'identity', 'Policy statement must contain actions.');
  bad(ok({ Effect: 'Allow', Action: 'kms:*' }), 'identity', 'Policy statement must contain resources.');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: 'my-key' }), 'identity', 'Resource my-key must be in ARN format or "*".');
  bad(ok({ Effect: 'Allow', Action: 'Encrypt', Resource: '*' }), 'identity', 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
  bad(ok({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::*:user/x' }, Action: 'kms:*', Resource: '*' }), 'resource', 'Invalid principal in policy: "AWS":"arn:aws:iam::*:user/x"');
  bad(ok({ Effect: 'Allow', Principal: { Alien: 'x' }, Action: 'kms:*', Resource: '*' }), 'resource', 'Invalid principal in policy: "Alien"');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { StringEqualz: { 'aws:username': 'x' } } }), 'identity', 'Invalid Condition type : StringEqualz');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { NullIfExists: { 'aws:username': 'true' } } }), 'identity', 'Invalid Condition type : NullIfExists');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { NumericLessThan: { 'aws:epochtime': 'soon' } } }), 'identity', 'Invalid value for condition NumericLessThan aws:epochtime: "soon"');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }), 'identity', /Invalid value for condition IpAddress/);
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { StringEquals: { username: 'x' } } }), 'identity', 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
  bad(ok({ Sid: 'has space', Effect: 'Allow', Action: 'kms:*', Resource: '*' }), 'identity', /^Statement IDs \(SID\) must be alpha-numeric/);
  bad(JSON.stringify({ Statement: [{ Sid: 'a', Effect: 'Allow', Action: 'kms:*', Resource: '*' }, { Sid: 'a', Effect: 'Deny', Action: 'kms:*', Resource: '*' }] }), 'identity', 'Statement IDs (SID) in a single policy must be unique.');
  bad(ok({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole', Resource: '*' }), 'trust', 'Has prohibited field Resource');
  bad(ok({ Effect: 'Allow', Action: 'kms:*', Resource: '*', Extra: 1 }), 'identity', 'Syntax errors in policy. Unknown field Extra');
  bad(JSON.stringify({ Version: '2013-01-01', Statement: [] }), 'identity', /^The policy Version "2013-01-01" is not supported/);
  bad(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: 'x'.repeat(40000) }] }), 'resource', 'The policy document exceeds the maximum size of 32768 bytes.');
});

test('key policies allow spaces in Sid; principals may be account ids, root, users, roles, sessions, services', () => {
  const p = parsePolicy(ok({
    Sid: 'Enable IAM User Permissions', Effect: 'Allow',
    Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:user/a', 'arn:aws:iam::111122223333:role/r', 'arn:aws:sts::111122223333:assumed-role/r/s'], Service: 'secretsmanager.amazonaws.com' },
    Action: 'kms:*', Resource: '*',
  }), 'resource');
  assert.equal(p.statements[0]!.principal!.spec.aws.length, 5);
});
