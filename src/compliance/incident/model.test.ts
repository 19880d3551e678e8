import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DigestSigner } from '../../audit/digest.ts';
import { testBarrier } from '../../audit/testing.ts';
import { byPrincipal, isServicePrincipal, type UseRef } from './model.ts';
import { signIncidentReport, verifyIncidentReport, type IncidentReport } from './report.ts';
import { windowFinal } from './uses.ts';

const use = (principal: string, eventName: string, eventTime: string, extra: Partial<UseRef> = {}): UseRef => ({
  eventID: `${principal}-${eventName}-${eventTime}`, eventTime, eventSource: 'kms.amazonaws.com', eventName, principal, sourceIPAddress: '10.0.0.1', resource: 'arn:k', ...extra,
});

test('byPrincipal: operations, addresses, access keys, first and last use; refused calls and unexpected principals are outside policy', () => {
  const events = [
    use('arn:aws:iam::1:user/app', 'Encrypt', '2030-01-01T00:00:02Z', { accessKeyId: 'AKIA1' }),
    use('arn:aws:iam::1:user/app', 'Decrypt', '2030-01-01T00:00:01Z', { accessKeyId: 'AKIA1', sourceIPAddress: '10.0.0.2' }),
    use('arn:aws:iam::1:user/eve', 'Decrypt', '2030-01-01T00:00:03Z', { accessKeyId: 'AKIA2', errorCode: 'AccessDeniedException' }),
    use('rds.us-east-1.amazonaws.com', 'ReEncrypt', '2030-01-01T00:00:04Z', { errorCode: 'DisabledException' }),
  ];
  const [app, eve, rds] = byPrincipal(events, []);
  assert.deepEqual(app, {
    principal: 'arn:aws:iam::1:user/app', operations: { Encrypt: 1, Decrypt: 1 }, sourceIPAddresses: ['10.0.0.1', '10.0.0.2'], accessKeyIds: ['AKIA1'],
    refused: 0, firstUsed: '2030-01-01T00:00:01Z', lastUsed: '2030-01-01T00:00:02Z',
  });
  assert.equal(eve!.outsidePolicy, '1 call(s) refused (not allowed by the key policy, grants or identity policies)');
  assert.equal(rds!.outsidePolicy, undefined, 'a service principal is never outside policy');
  // with a list of expected principals, anyone else is outside policy
  const listed = byPrincipal(events, ['arn:aws:iam::1:user/eve']);
  assert.equal(listed[0]!.outsidePolicy, 'not among the principals expected to use the key');
  assert.equal(listed[1]!.outsidePolicy, '1 call(s) refused (not allowed by the key policy, grants or identity policies)');
  assert.ok(isServicePrincipal('kms.amazonaws.com') && isServicePrincipal('rekey.proxy') && !isServicePrincipal('arn:aws:iam::1:root'));
});

test('windowFinal: the end of the window\'s last whole second', () => {
  assert.equal(new Date(windowFinal('2030-01-01T00:00:05.123Z')).toISOString(), '2030-01-01T00:00:06.000Z');
  assert.equal(new Date(windowFinal('2030-01-01T00:00:05.000Z')).toISOString(), '2030-01-01T00:00:06.000Z');
});

test('an incident report signed with the audit key verifies; any change, another key or no signature does not', async () => {
  const { barrier } = await testBarrier();
  const signer = await DigestSigner.loadOrCreate(barrier);
  const report: IncidentReport = {
    format: 'rekey-incident-report', version: 1, generatedAt: '2030-01-01T00:00:00.000Z',
    incident: { v: 1, id: 'i', kind: 'incident.compromised-key', target: 'arn:k', reportedBy: 'arn:r', openedAt: '2030-01-01T00:00:00.000Z', window: { from: 'a', to: 'b' } },
    actions: [{ step: 'record', at: 'x', outcome: 'opened' }], holdings: [], stillCompromised: [], needChangeKey: [],
    uses: { total: 0, truncated: false, byPrincipal: [], events: [] }, disabled: [], notes: [],
  };
  const signed = signIncidentReport(report, signer);
  assert.equal(verifyIncidentReport(signed, signer.publicKey), 'ok');
  assert.equal(verifyIncidentReport(JSON.parse(JSON.stringify(signed)), signer.publicKey), 'ok', 'survives a JSON round trip');
  assert.equal(verifyIncidentReport({ ...signed, notes: ['added'] }, signer.publicKey), 'bad-signature');
  assert.equal(verifyIncidentReport(report, signer.publicKey), 'unsigned');
  assert.equal(verifyIncidentReport({ format: 'rekey-compliance-report', version: 1 }, signer.publicKey), 'malformed');
  const other = await DigestSigner.loadOrCreate((await testBarrier()).barrier);
  assert.equal(verifyIncidentReport(signed, other.publicKey), 'wrong-key');
});
