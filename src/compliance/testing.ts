// Test fixtures: a stored state with exactly one violation per rule ("bad"), and its compliant twin
// ("good"): the same resources, each with the one setting that makes it pass. Not used by production code.
import { AuditLog } from '../audit/log.ts';
import { kmsApiEvent } from '../audit/event.ts';
import { StoreSink } from '../audit/sinks/store.ts';
import { recordVerification } from '../audit/verifications.ts';
import type { Barrier } from '../storage/barrier.ts';
import type { KeyRecord } from '../kms/model.ts';
import { keyPath } from '../kms/keystore.ts';
import { usagePath } from '../kms/lifecycle/paths.ts';
import { dependentPath } from '../kms/lifecycle/dependents.ts';
import { secretPath, type SecretRecord } from '../secrets/model.ts';
import type { CertFact, FactPorts, InstanceFact } from './facts.ts';
import type { RuleId } from './standards.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const NOW = new Date('2030-06-01T00:00:00.000Z');
const DAY = 86_400_000;
const T = NOW.getTime();
export const keyArn = (id: string): string => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
export const secretArn = (name: string): string => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const user = (n: string): string => `arn:aws:iam::${ACCOUNT}:user/${n}`;
const MFA = { Bool: { 'aws:MultiFactorAuthPresent': 'true' } };

function policy(...statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }, ...statements] });
}

function key(id: string, over: Partial<KeyRecord> = {}): KeyRecord {
  const material = { id: id.replace(/[^0-9a-f]/g, '').padEnd(64, '0').slice(0, 64), material: 'AAAA', createdAt: T - 100 * DAY, rotationType: null };
  return {
    v: 1, keyId: id, arn: keyArn(id), accountId: ACCOUNT, region: REGION, description: '', state: 'Enabled', keyUsage: 'ENCRYPT_DECRYPT',
    keySpec: 'SYMMETRIC_DEFAULT', origin: 'AWS_KMS', multiRegion: false, creationDate: T - 100 * DAY, deletionDate: null, pendingWindowInDays: null,
    policy: policy(), tags: [], aliases: [], grantCount: 0, materials: [material], currentMaterialId: material.id,
    rotation: { enabled: true, periodDays: 365, nextRotationDate: T + 265 * DAY, onDemandCount: 0, onDemandStartDate: null },
    ...over,
  };
}

function secret(name: string, rotation: SecretRecord['rotation']): SecretRecord {
  return { v: 1, uid: name, name, arn: secretArn(name), keyArn: keyArn('aaaa0001'), tags: [], created: T - 200 * DAY, lastChanged: T - 10 * DAY, versions: {}, ...(rotation ? { rotation } : {}) };
}

/** The resource each rule's violation sits on, in the bad state. */
export const VIOLATIONS: readonly (readonly [RuleId, string])[] = [
  ['kms-rotation-disabled', keyArn('aaaa0001')],
  ['kms-rotation-period-exceeds-cryptoperiod', keyArn('aaaa0002')],
  ['kms-usage-budget-exceeded', keyArn('aaaa0003')],
  ['kms-pending-deletion-with-dependents', keyArn('aaaa0004')],
  ['kms-policy-separation-of-duties', keyArn('aaaa0005')],
  ['kms-admin-without-mfa', keyArn('aaaa0006')],
  ['secret-never-rotated', secretArn('never')],
  ['secret-rotation-overdue', secretArn('overdue')],
  ['db-storage-not-encrypted', `arn:aws:rds:${REGION}:${ACCOUNT}:db:plain`],
  ['db-no-managed-master-secret', `arn:aws:rds:${REGION}:${ACCOUNT}:db:nosecret`],
  ['api-without-tls', `arn:aws:rekey:${REGION}:${ACCOUNT}:api/endpoint`],
  ['audit-not-verified', `arn:aws:rekey:${REGION}:${ACCOUNT}:audit/trail`],
  ['certificate-near-expiry', `arn:aws:rekey:${REGION}:${ACCOUNT}:certificate/server`],
];

export interface Seeded {
  ports: FactPorts;
  /** eventID of the DisableKeyRotation call on aaaa0001 (bad state only). */
  disableRotationEventId?: string;
}

/** Writes the bad or the good state into `barrier` (and audit events through a store-sink log). */
export async function seedState(barrier: Barrier, variant: 'bad' | 'good'): Promise<Seeded> {
  const bad = variant === 'bad';
  const budget = { maxEncryptions: 10 };
  const keys: KeyRecord[] = [
    key('aaaa0001', bad ? { rotation: { enabled: false, periodDays: null, nextRotationDate: null, onDemandCount: 0, onDemandStartDate: null } } : {}),
    key('aaaa0002', bad ? { rotation: { enabled: true, periodDays: 730, nextRotationDate: T + 630 * DAY, onDemandCount: 0, onDemandStartDate: null } } : {}),
    key('aaaa0003', { usageBudget: budget }),
    key('aaaa0004', { state: 'PendingDeletion', deletionDate: T + 7 * DAY, pendingWindowInDays: 30, dependentCount: bad ? 1 : 0 }),
    key('aaaa0005', {
      policy: bad
        ? policy({ Sid: 'AliceAdmin', Effect: 'Allow', Principal: { AWS: user('alice') }, Action: ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'], Resource: '*', Condition: MFA },
          { Sid: 'AliceUse', Effect: 'Allow', Principal: { AWS: user('alice') }, Action: 'kms:Decrypt', Resource: '*' })
        : policy({ Sid: 'AliceAdmin', Effect: 'Allow', Principal: { AWS: user('alice') }, Action: ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'], Resource: '*', Condition: MFA },
          { Sid: 'BobUse', Effect: 'Allow', Principal: { AWS: user('bob') }, Action: 'kms:Decrypt', Resource: '*' }),
    }),
    key('aaaa0006', {
      policy: policy({ Sid: 'CarolAdmin', Effect: 'Allow', Principal: { AWS: user('carol') }, Action: 'kms:Disable*', Resource: '*', ...(bad ? {} : { Condition: MFA }) }),
    }),
    // a service-managed key with rotation off is not judged (AWS rotates those itself)
    key('aaaa0007', { keyManager: 'AWS', rotation: { enabled: false, periodDays: null, nextRotationDate: null, onDemandCount: 0, onDemandStartDate: null } }),
  ];
  for (const k of keys) await barrier.putJSON(keyPath(k.keyId), k);
  const k3 = keys[2]!;
  await barrier.putJSON(usagePath(k3.keyId, k3.currentMaterialId), { encryptions: bad ? 12 : 3, bytes: 100 });
  if (bad) await barrier.putJSON(dependentPath('aaaa0004', secretArn('never')), { type: 'secret', arn: secretArn('never'), name: 'never', keyId: 'aaaa0004', registeredAt: T - DAY });
  const recent = { enabled: true, rules: { AutomaticallyAfterDays: 30 }, lastRotated: T - 5 * DAY, next: T + 25 * DAY };
  await barrier.putJSON(secretPath('never'), secret('never', bad ? undefined : recent));
  await barrier.putJSON(secretPath('overdue'), secret('overdue', bad ? { enabled: true, rules: { AutomaticallyAfterDays: 30 }, lastRotated: T - 33 * DAY, next: T - 3 * DAY } : recent));
  await recordVerification(barrier, { at: new Date(T - (bad ? 3 * DAY : 3_600_000)).toISOString(), ok: true, problems: 0, nodes: 1, events: 2, pinnedKey: false });

  // audit events: who used aaaa0001, and (bad) who turned its rotation off
  const log = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  const caller = (n: string) => ({ accountId: ACCOUNT, arn: user(n), accessKeyId: `AKIA${n.toUpperCase().padEnd(16, '0')}` });
  const ev = (operation: string, who: string, at: number, ip: string) => kmsApiEvent({
    operation, input: { KeyId: keyArn('aaaa0001') }, output: {}, caller: caller(who), requestId: `r-${operation}-${at}`, sourceIp: ip, userAgent: 'test', region: REGION, now: new Date(at),
  });
  const disable = ev('DisableKeyRotation', 'alice', T - 10 * DAY, '10.0.0.9');
  for (const e of [ev('Encrypt', 'app', T - 3 * DAY, '10.0.0.1'), ev('Decrypt', 'app', T - 2 * DAY, '10.0.0.2'), ...(bad ? [disable] : [])]) await log.append(e);
  await log.settled();
  await log.close();

  const instances: InstanceFact[] = [
    { id: 'plain', arn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:plain`, storageEncrypted: !bad, masterUserSecretArn: secretArn('rds-plain'), ...(bad ? {} : { kmsKeyId: keyArn('aaaa0001') }) },
    { id: 'nosecret', arn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:nosecret`, storageEncrypted: true, kmsKeyId: keyArn('aaaa0001'), ...(bad ? {} : { masterUserSecretArn: secretArn('rds-nosecret') }) },
  ];
  const certificates: CertFact[] = [
    { arn: `arn:aws:rekey:${REGION}:${ACCOUNT}:certificate/server`, role: 'server', serial: '01', notAfter: new Date(T + (bad ? 10 : 60) * DAY).toISOString() },
    { arn: `arn:aws:rekey:${REGION}:${ACCOUNT}:certificate/ca`, role: 'ca', serial: '02', notAfter: new Date(T + 3000 * DAY).toISOString() },
  ];
  return {
    ports: { instances: async () => instances, certificates: async () => certificates, api: { tls: !bad, mode: bad ? 'off' : 'generated' } },
    ...(bad ? { disableRotationEventId: disable.eventID } : {}),
  };
}
