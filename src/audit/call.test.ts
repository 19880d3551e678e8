import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessDeniedException, InternalFailure, KMSInvalidStateException } from '../errors.ts';
import { AuditedCall, type Appender } from './call.ts';
import { serviceEvent, type AuditEvent } from './event.ts';
import { AuditLog } from './log.ts';
import { StoreSink } from './sinks/store.ts';
import { ACCOUNT, CALLER, KEY_ARN, KEY_ID, testBarrier } from './testing.ts';

const ctx = { caller: CALLER, requestId: 'req-9', sourceIp: '10.1.1.1', userAgent: 'sdk', region: 'us-east-1', now: new Date('2024-05-01T00:00:00Z') };

class Memory implements Appender {
  events: AuditEvent[] = [];
  down = false;
  async append(e: AuditEvent): Promise<void> {
    if (this.down) throw new InternalFailure('sink down');
    this.events.push(e);
  }
}

test('succeeded records once, however often it is called (beforeCommit + after the call)', async () => {
  const m = new Memory();
  const call = new AuditedCall(m, { service: 'kms', operation: 'CreateKey', input: {}, ...ctx });
  assert.equal(call.mutating, true);
  await call.succeeded({ KeyMetadata: { KeyId: KEY_ID } });
  await call.succeeded({ KeyMetadata: { KeyId: KEY_ID } });
  assert.equal(m.events.length, 1);
  assert.equal(new AuditedCall(m, { service: 'kms', operation: 'Decrypt', input: {}, ...ctx }).mutating, false);
});

test('a commit that fails after its success was recorded gets a correction event', async () => {
  const m = new Memory();
  const call = new AuditedCall(m, { service: 'kms', operation: 'DisableKey', input: { KeyId: KEY_ID }, ...ctx });
  await call.succeeded({});
  await call.failed(new KMSInvalidStateException('conflict'));
  assert.equal(m.events.length, 2);
  assert.equal(m.events[1]!.requestID, 'req-9');
  assert.equal(m.events[1]!.errorCode, 'KMSInvalidStateException');
  assert.deepEqual(m.events[1]!.additionalEventData, { correctsEventId: m.events[0]!.eventID });
});

test('when the audit cannot be written, a mutating operation never commits and the caller gets InternalFailure', async () => {
  const m = new Memory();
  m.down = true;
  let state = 'Enabled';
  // a stand-in for a KMS operation that honours beforeCommit
  const disableKey = async (beforeCommit: (out: unknown) => Promise<void>) => {
    const out = { KeyId: KEY_ARN };
    await beforeCommit(out);
    state = 'Disabled';
    return out;
  };
  const call = new AuditedCall(m, { service: 'kms', operation: 'DisableKey', input: { KeyId: KEY_ID }, ...ctx });
  await assert.rejects(disableKey((o) => call.succeeded(o)), { name: 'InternalFailure', message: 'The request could not be audited; it was not performed.' });
  assert.equal(state, 'Enabled');
  await assert.rejects(call.failed(new InternalFailure('x')), InternalFailure);
});

test('a scripted workload leaves exactly the expected sequence of events', async () => {
  const { barrier } = await testBarrier();
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  const run = async (operation: string, input: Record<string, unknown>, result: { output?: unknown; error?: unknown }) => {
    const call = new AuditedCall(log, { service: 'kms', operation, input, ...ctx, caller: result.error instanceof AccessDeniedException ? { accessKeyId: 'AKIAEVE0000000000000' } : CALLER });
    if (result.error) await call.failed(result.error);
    else await call.succeeded(result.output);
  };
  await run('CreateKey', { Description: 'k' }, { output: { KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN } } });
  await run('Encrypt', { KeyId: KEY_ID, Plaintext: 'cA==' }, { output: { KeyId: KEY_ARN, CiphertextBlob: 'AQ==' } });
  await run('Decrypt', { CiphertextBlob: 'AQ==' }, { output: { KeyId: KEY_ARN, Plaintext: 'cA==' } });
  await run('RotateKeyOnDemand', { KeyId: KEY_ID }, { output: { KeyId: KEY_ARN } });
  await log.append(serviceEvent({ eventName: 'RotateKey', region: 'us-east-1', accountId: ACCOUNT, resources: [KEY_ARN], details: { keyId: KEY_ARN }, now: ctx.now }));
  await run('Decrypt', { CiphertextBlob: 'AQ==' }, { error: new AccessDeniedException('not authorized') });
  await run('ScheduleKeyDeletion', { KeyId: KEY_ID, PendingWindowInDays: 7 }, { output: { KeyId: KEY_ARN, KeyState: 'PendingDeletion' } });
  await log.append(serviceEvent({ eventName: 'DeleteKey', region: 'us-east-1', accountId: ACCOUNT, resources: [KEY_ARN], details: { keyId: KEY_ARN }, now: ctx.now }));
  const events = (await log.lookup({ maxResults: 100 })).events.reverse().map((r) => r.event);
  assert.deepEqual(events.map((e) => [e.eventName, e.eventType, e.errorCode ?? '-', e.userIdentity.type, e.readOnly]), [
    ['CreateKey', 'AwsApiCall', '-', 'IAMUser', false],
    ['Encrypt', 'AwsApiCall', '-', 'IAMUser', true],
    ['Decrypt', 'AwsApiCall', '-', 'IAMUser', true],
    ['RotateKeyOnDemand', 'AwsApiCall', '-', 'IAMUser', false],
    ['RotateKey', 'AwsServiceEvent', '-', 'AWSService', false],
    ['Decrypt', 'AwsApiCall', 'AccessDeniedException', 'Unknown', true],
    ['ScheduleKeyDeletion', 'AwsApiCall', '-', 'IAMUser', false],
    ['DeleteKey', 'AwsServiceEvent', '-', 'AWSService', false],
  ]);
  assert.ok(events.every((e) => e.resources.length === 0 || e.resources[0]!.ARN === KEY_ARN));
  assert.equal((await log.verify()).ok, true);
  await log.close();
});
