// What the incident jobs use: the store, KMS, IAM, secrets, the audit log, the holders of what keys
// protect (secrets here; databases through src/db/incident-holdings.ts), and an optional proxy hook.
import type { Barrier } from '../../storage/barrier.ts';
import type { KmsService } from '../../kms/service.ts';
import type { IamService } from '../../iam/service.ts';
import type { Identity } from '../../iam/identity.ts';
import type { SecretsService } from '../../secrets/service.ts';
import { serviceEvent } from '../../audit/event.ts';
import type { ReportSigner } from '../report.ts';
import type { KeyHolder } from './holdings.ts';

export interface IncidentDeps {
  barrier: Barrier;
  kms: KmsService;
  iam: IamService;
  secrets: SecretsService;
  audit?: { append(e: ReturnType<typeof serviceEvent>): Promise<unknown>; settled?(): Promise<void> };
  region: string;
  accountId: string;
  /** Holders besides secrets (the databases' instances and snapshots). */
  holders?: KeyHolder[];
  /**
   * Ends the proxy's client sessions that logged in with a secret's credentials (a target's
   * secretIds name it by ARN or by name); resolves with how many it ended. Absent: no proxy runs
   * on this node (docs/INCIDENTS.md).
   */
  endProxySessions?: (secret: { arn: string; name: string }) => Promise<number>;
  signer(): Promise<ReportSigner>;
}

/** Crash points for test/incident-crash.test.ts: called after a step's work, before its result is committed. */
export const incidentProbe: { at(point: string): void } = { at: () => {} };

/** The account root as the incident jobs' caller of Secrets Manager (the admin route authorized the reporter). */
export function accountRoot(accountId: string): Identity {
  return { accountId, arn: `arn:aws:iam::${accountId}:root`, accessKeyId: '', type: 'Root', principalId: accountId, identityPolicies: [] } as unknown as Identity;
}

/** One audit event per incident step, recorded before the step's effects are committed. */
export async function recordStep(d: IncidentDeps, eventName: string, incidentId: string, resources: readonly string[], details: Record<string, string | number | boolean>, now: Date): Promise<void> {
  await d.audit?.append(serviceEvent({
    service: 'incident', eventName, region: d.region, accountId: d.accountId, now,
    resources: [`arn:aws:rekey:${d.region}:${d.accountId}:incident/${incidentId}`, ...resources],
    details: { incidentId, ...details },
  }));
}
