// Disabling principals whose use of a key was outside policy (incident.compromised-key with
// disablePrincipals): every access key they used is made Inactive (IAM UpdateAccessKey; a long-term
// key) or, for temporary credentials, its STS session is revoked. The account root's keys and the
// reporter are never touched (the reporter is filtered out by the caller; the root could lock the
// operator out). Idempotent: an Inactive key stays Inactive, a revoked session stays gone.
import { type IncidentDeps, recordStep } from './deps.ts';
import type { PrincipalUse } from './model.ts';

export interface Disabled {
  principal: string;
  accessKeys: string[];
  sessions: string[];
}

export async function disablePrincipals(d: IncidentDeps, incidentId: string, targets: readonly PrincipalUse[], now: Date): Promise<Disabled[]> {
  const out: Disabled[] = [];
  for (const p of targets) {
    if (p.principal.endsWith(':root')) continue;
    const done: Disabled = { principal: p.principal, accessKeys: [], sessions: [] };
    for (const id of p.accessKeyIds) {
      const key = await d.iam.accessKeys.get(id);
      if (key) {
        if (key.principalArn !== p.principal) continue; // the event's access key belongs to someone else: leave it
        await recordStep(d, 'DeactivateAccessKey', incidentId, [p.principal], { accessKeyId: id, reason: p.outsidePolicy ?? '' }, now);
        if (key.status !== 'Inactive') await d.iam.accessKeys.setStatus(id, 'Inactive');
        done.accessKeys.push(id);
        continue;
      }
      const session = await d.iam.sessions.get(id);
      if (session) {
        await recordStep(d, 'RevokeSession', incidentId, [p.principal], { accessKeyId: id, reason: p.outsidePolicy ?? '' }, now);
        await d.iam.sessions.revoke(id);
        done.sessions.push(id);
      }
    }
    if (done.accessKeys.length + done.sessions.length > 0) out.push(done);
  }
  return out;
}
