import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultKeyPolicy } from '../iam/policy/key-policy.ts';
import { ACCOUNT, aliasArnOf, allow, b64, harness, rejects, user } from './testing.ts';

const denied = (who: string, action: string, resource: string) =>
  `User: ${who} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;

test('alias operations need the action on the alias ARN (IAM) and on each key involved (key policy + IAM)', async () => {
  const h = await harness();
  const k1 = await h.createKey();
  const k2 = await h.createKey();
  const onlyAlias = user('a1', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'], Resource: aliasArnOf('alias/app') }] });
  const onlyKeys = user('a2', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'], Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/*` }] });
  const both = user('a3', allow('kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'));
  await rejects(h.callAs(onlyAlias, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: k1.KeyId }), 'AccessDeniedException', denied(onlyAlias.arn, 'kms:CreateAlias', k1.Arn));
  await rejects(h.callAs(onlyKeys, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: k1.KeyId }), 'AccessDeniedException', denied(onlyKeys.arn, 'kms:CreateAlias', aliasArnOf('alias/app')));
  await h.callAs(both, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: k1.KeyId });
  // UpdateAlias: also on the new key; here k2's policy stops a3
  await h.call('PutKeyPolicy', { KeyId: k2.KeyId, Policy: defaultKeyPolicy({ accountId: ACCOUNT, administrators: [], users: [], enableIamUserPermissions: false }).replace('"Statement": []', `"Statement": [{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::${ACCOUNT}:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"${both.arn}"},"Action":"kms:UpdateAlias","Resource":"*"}]`) });
  await rejects(h.callAs(both, 'UpdateAlias', { AliasName: 'alias/app', TargetKeyId: k2.KeyId }), 'AccessDeniedException',
    `User: ${both.arn} is not authorized to perform: kms:UpdateAlias on resource: ${k2.Arn} with an explicit deny in a resource-based policy`);
  await rejects(h.callAs(onlyAlias, 'DeleteAlias', { AliasName: 'alias/app' }), 'AccessDeniedException', denied(onlyAlias.arn, 'kms:DeleteAlias', k1.Arn));
  await h.callAs(both, 'DeleteAlias', { AliasName: 'alias/app' });
});

test('ReEncrypt needs kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination key', async () => {
  const h = await harness();
  const src = await h.createKey();
  const dst = await h.createKey();
  const ct = (await h.call('Encrypt', { KeyId: src.KeyId, Plaintext: b64('x') }))['CiphertextBlob'];
  const re = (who: ReturnType<typeof user>) => h.callAs(who, 'ReEncrypt', { CiphertextBlob: ct, DestinationKeyId: dst.KeyId });
  const from = user('from', allow('kms:ReEncryptFrom'));
  const to = user('to', allow('kms:ReEncryptTo'));
  await rejects(re(from), 'AccessDeniedException', denied(from.arn, 'kms:ReEncryptTo', dst.Arn));
  await rejects(re(to), 'AccessDeniedException', denied(to.arn, 'kms:ReEncryptFrom', src.Arn));
  const r = await re(user('both', allow('kms:ReEncrypt*')));
  assert.equal(r['KeyId'], dst.Arn);
});

test('kms:RequestAlias, kms:EncryptionContext and aws:SourceIp reach the policy', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/payments', TargetKeyId: md.KeyId });
  const viaAlias = user('va', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*', Condition: { StringEquals: { 'kms:RequestAlias': 'alias/payments', 'kms:EncryptionContext:app': 'pay' }, IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }] });
  await h.callAs(viaAlias, 'Encrypt', { KeyId: 'alias/payments', Plaintext: b64('x'), EncryptionContext: { app: 'pay' } });
  await h.callAs(viaAlias, 'Encrypt', { KeyId: aliasArnOf('alias/payments'), Plaintext: b64('x'), EncryptionContext: { app: 'pay' } });
  await rejects(h.callAs(viaAlias, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), EncryptionContext: { app: 'pay' } }), 'AccessDeniedException', denied(viaAlias.arn, 'kms:Encrypt', md.Arn));
  await rejects(h.callAs(viaAlias, 'Encrypt', { KeyId: 'alias/payments', Plaintext: b64('x') }), 'AccessDeniedException', denied(viaAlias.arn, 'kms:Encrypt', md.Arn));
  await rejects(h.kms.call('Encrypt', { KeyId: 'alias/payments', Plaintext: b64('x'), EncryptionContext: { app: 'pay' } }, viaAlias, { sourceIp: '198.51.100.1' }), 'AccessDeniedException', denied(viaAlias.arn, 'kms:Encrypt', md.Arn));
});

test('separation of duties: administrators manage but cannot use; users use but cannot manage', async () => {
  const h = await harness();
  const admin = user('keyadmin');
  const app = user('app');
  const policy = defaultKeyPolicy({ accountId: ACCOUNT, administrators: [admin.arn], users: [app.arn] });
  const md = await h.createKey({ Policy: policy });
  const ct = (await h.callAs(app, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }))['CiphertextBlob'];
  await h.callAs(app, 'Decrypt', { CiphertextBlob: ct });
  await rejects(h.callAs(admin, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), 'AccessDeniedException', denied(admin.arn, 'kms:Encrypt', md.Arn));
  await rejects(h.callAs(admin, 'Decrypt', { CiphertextBlob: ct }), 'AccessDeniedException', denied(admin.arn, 'kms:Decrypt', md.Arn));
  await rejects(h.callAs(app, 'ScheduleKeyDeletion', { KeyId: md.KeyId }), 'AccessDeniedException', denied(app.arn, 'kms:ScheduleKeyDeletion', md.Arn));
  await rejects(h.callAs(app, 'PutKeyPolicy', { KeyId: md.KeyId, Policy: policy }), 'AccessDeniedException', denied(app.arn, 'kms:PutKeyPolicy', md.Arn));
  await h.callAs(admin, 'DisableKey', { KeyId: md.KeyId });
  await h.callAs(admin, 'PutKeyPolicy', { KeyId: md.KeyId, Policy: policy });
  await h.callAs(admin, 'ScheduleKeyDeletion', { KeyId: md.KeyId });
});

test('authorization happens before key state checks: a denied caller learns nothing about the key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('DisableKey', { KeyId: md.KeyId });
  const eve = user('eve');
  await rejects(h.callAs(eve, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), 'AccessDeniedException', denied(eve.arn, 'kms:Encrypt', md.Arn));
  await rejects(h.callAs(eve, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), DryRun: true }), 'AccessDeniedException', denied(eve.arn, 'kms:Encrypt', md.Arn));
});

// The cost of authorization on Encrypt is measured by bench/kms (auth on vs off), never by a test.
