import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPublic, parse } from './policy.ts';

const doc = (st: object) => JSON.stringify({ Version: '2012-10-17', Statement: [st] });

test('broad access: Principal "*" or {"AWS": "*"} in an Allow without a condition', () => {
  assert.equal(isPublic(parse(doc({ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }))), true);
  assert.equal(isPublic(parse(doc({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'secretsmanager:*', Resource: '*' }))), true);
  assert.equal(isPublic(parse(doc({ Effect: 'Deny', Principal: '*', Action: 'secretsmanager:*', Resource: '*' }))), false);
  assert.equal(isPublic(parse(doc({ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:*', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': '111122223333' } } }))), false);
  assert.equal(isPublic(parse(doc({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:user/a' }, Action: 'secretsmanager:*', Resource: '*' }))), false);
});

test('malformed documents are MalformedPolicyDocumentException', () => {
  for (const bad of ['{', '[]', doc({ Effect: 'Maybe', Principal: '*', Action: 'x:y', Resource: '*' })]) {
    assert.throws(() => parse(bad), { name: 'MalformedPolicyDocumentException' });
  }
});
