// The incident.compromised-credentials job (docs/INCIDENTS.md): a leaked secret value or access key.
//
//   record    incidents/<id> written
//   contain   a secret: rotated now (RotateSecret with the incident id as ClientRequestToken, so a
//             re-run continues the same rotation), waiting until the new version is AWSCURRENT;
//             a secret without rotation is reported, not changed. An access key: made Inactive.
//   sessions  a secret: the proxy's client sessions that logged in with it are ended, when the
//             proxy offers that hook (IncidentDeps.endProxySessions)
//   uses      the audit events naming the secret, or signed with the access key, in the window
//   report    the signed report
import { ValidationException } from '../../errors.ts';
import { Barrier } from '../../storage/barrier.ts';
import type { Job } from '../../jobs/model.ts';
import type { StepContext, StepResult } from '../../jobs/kinds.ts';
import { AWSCURRENT } from '../../secrets/model.ts';
import { accountRoot, type IncidentDeps, incidentProbe, recordStep } from './deps.ts';
import { byPrincipal, incidentPath, KIND_COMPROMISED_CREDENTIALS, reportPath, usesPath, type IncidentRecord, type PrincipalUse, type UsesRecord } from './model.ts';
import { signIncidentReport, type IncidentAction, type IncidentReport } from './report.ts';
import { scanUses, windowFinal } from './uses.ts';

export const ACCESS_KEY_ID = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;

export interface CredentialsIncidentData {
  /** A secret (name or ARN) or an access key id, as reported. */
  credential: string;
  type: 'secret' | 'access-key';
  reportedBy: string;
  from: string;
  to: string;
  /** The secret's ARN, or the access key's principal. */
  arn?: string;
  principal?: string;
  actions: IncidentAction[];
  uses?: { total: number; truncated: boolean; byPrincipal: PrincipalUse[] };
  notes: string[];
}

/** How long `contain` waits for a secret's rotation before it reports it as not finished. */
export const ROTATION_WAIT_MS = 15 * 60_000;

export function compromisedCredentialsHandler(d: IncidentDeps) {
  const act = (data: CredentialsIncidentData, step: string, at: Date, outcome: string): IncidentAction[] => [...data.actions.filter((a) => a.step !== step), { step, at: at.toISOString(), outcome }];
  return async (job: Readonly<Job<CredentialsIncidentData>>, ctx: StepContext): Promise<StepResult<CredentialsIncidentData>> => {
    const data = job.data;
    const now = ctx.now();
    ctx.progress({ done: ['record', 'contain', 'sessions', 'uses', 'report'].indexOf(job.step), total: 5, message: job.step });
    switch (job.step) {
      case 'record': {
        let arn: string;
        let principal: string | undefined;
        if (data.type === 'secret') {
          const got = await d.secrets.ctx.find(data.credential);
          if (!got) throw new ValidationException(`secret ${data.credential} not found`);
          arn = got.rec.arn;
        } else {
          const key = await d.iam.accessKeys.get(data.credential);
          if (!key) throw new ValidationException(`access key ${data.credential} not found`);
          principal = key.principalArn;
          arn = key.principalArn;
        }
        const incident: IncidentRecord = { v: 1, id: job.id, kind: KIND_COMPROMISED_CREDENTIALS, target: data.type === 'secret' ? arn : data.credential, reportedBy: data.reportedBy, openedAt: new Date(job.createdAt).toISOString(), window: { from: data.from, to: data.to } };
        await recordStep(d, 'OpenIncident', job.id, [arn], { kind: KIND_COMPROMISED_CREDENTIALS, type: data.type }, now);
        incidentProbe.at('record');
        return { next: 'contain', ops: [Barrier.putOp(incidentPath(job.id), incident)], data: { ...data, arn, ...(principal ? { principal } : {}), actions: act(data, 'record', now, `incident opened by ${data.reportedBy}`) } };
      }
      case 'contain': {
        if (data.type === 'access-key') {
          const key = await d.iam.accessKeys.get(data.credential);
          if (key && key.status !== 'Inactive') {
            await recordStep(d, 'DeactivateAccessKey', job.id, [key.principalArn], { accessKeyId: data.credential }, now);
            await d.iam.accessKeys.setStatus(data.credential, 'Inactive');
          }
          incidentProbe.at('contain');
          return { next: 'sessions', data: { ...data, actions: act(data, 'contain', now, key ? `access key ${data.credential} of ${key.principalArn} is Inactive` : `access key ${data.credential} no longer exists`) } };
        }
        const got = await d.secrets.ctx.find(data.arn!);
        if (!got) return { next: 'sessions', data: { ...data, actions: act(data, 'contain', now, 'the secret no longer exists') } };
        const rec = got.rec;
        const ours = rec.versions[job.id];
        if (ours?.stages.includes(AWSCURRENT)) {
          incidentProbe.at('contain');
          return { next: 'sessions', data: { ...data, actions: act(data, 'contain', now, `rotated: version ${job.id} is AWSCURRENT`) } };
        }
        if (!ours && !rec.rotation?.lambdaArn) {
          const note = 'the secret has no rotation configured: it was NOT rotated; put a new value (and change it where it is used) by hand';
          return { next: 'sessions', data: { ...data, notes: [...data.notes, note], actions: act(data, 'contain', now, 'not rotated: no rotation configured') } };
        }
        const rotationJob = rec.rotation?.jobId;
        if (ours && rec.rotation?.pendingVersion === job.id && rotationJob && !(await d.secrets.rotation.isActive(rotationJob))) {
          const note = `the rotation to version ${job.id} ended without making it AWSCURRENT (job ${rotationJob}): see rekey jobs show ${rotationJob}`;
          return { next: 'sessions', data: { ...data, notes: [...data.notes, note], actions: act(data, 'contain', now, 'rotation failed') } };
        }
        if (now.getTime() - job.createdAt > ROTATION_WAIT_MS) {
          return { next: 'sessions', data: { ...data, notes: [...data.notes, `the rotation to version ${job.id} had not finished after ${ROTATION_WAIT_MS / 60_000} minutes`], actions: act(data, 'contain', now, 'rotation not finished in time') } };
        }
        if (!ours) {
          await recordStep(d, 'RotateSecret', job.id, [rec.arn], { versionId: job.id }, now);
          // the incident id as ClientRequestToken: a re-run after a crash continues this rotation
          await d.secrets.call('RotateSecret', { SecretId: rec.arn, ClientRequestToken: job.id }, accountRoot(d.accountId));
        }
        return { retryAt: new Date(now.getTime() + 1_000) }; // a planned wait until the rotation finishes
      }
      case 'sessions': {
        let outcome: string;
        const notes = [...data.notes];
        if (data.type === 'access-key') {
          outcome = 'API calls signed with the key are refused from now on (Inactive); STS sessions it created stay valid until they expire: revoke them with the principal\'s other credentials if needed';
        } else if (d.endProxySessions) {
          const got = await d.secrets.ctx.find(data.arn!);
          await recordStep(d, 'EndProxySessions', job.id, [data.arn!], {}, now);
          const n = got ? await d.endProxySessions({ arn: got.rec.arn, name: got.rec.name }) : 0;
          // one node's proxy: proxies on other nodes keep their sessions (docs/INCIDENTS.md)
          outcome = `${n} proxy session(s) that logged in with the secret ended (proxy of node ${ctx.nodeId})`;
        } else {
          outcome = 'no proxy runs on the node that ran the job: open proxy sessions elsewhere continue until they disconnect (a proxy drops its cached credentials when a rotation finishes, so new logins use the new password)';
          notes.push(outcome);
        }
        incidentProbe.at('sessions');
        return { next: 'uses', data: { ...data, notes, actions: act(data, 'sessions', now, outcome) } };
      }
      case 'uses': {
        // audit times have whole seconds: read once the window's last second is over, so the list is final
        const final = windowFinal(data.to);
        if (now.getTime() < final) return { retryAt: new Date(final) };
        await d.audit?.settled?.();
        const uses: UsesRecord = await scanUses(d.barrier, new Date(data.from), new Date(data.to),
          data.type === 'secret' ? { resources: new Set([data.arn!]) } : { accessKeyId: data.credential });
        const people = byPrincipal(uses.events, []);
        incidentProbe.at('uses');
        return {
          next: 'report', ops: [Barrier.putOp(usesPath(job.id), uses)],
          data: { ...data, uses: { total: uses.events.length, truncated: uses.truncated, byPrincipal: people }, actions: act(data, 'uses', now, `${uses.events.length} recorded use(s) by ${people.length} principal(s) from ${data.from} to ${data.to}`) },
        };
      }
      case 'report': {
        const incident = (await d.barrier.getJSON<IncidentRecord>(incidentPath(job.id)))!.value;
        const uses = (await d.barrier.getJSON<UsesRecord>(usesPath(job.id)))?.value ?? { events: [], truncated: false };
        const actions = act(data, 'report', now, 'report signed with the audit signing key');
        const report: IncidentReport = {
          format: 'rekey-incident-report', version: 1, incident, generatedAt: now.toISOString(),
          credential: { type: data.type, id: data.credential, ...(data.type === 'secret' ? { arn: data.arn! } : { principal: data.principal! }) },
          actions, holdings: [], stillCompromised: [], needChangeKey: [],
          uses: { total: uses.events.length, truncated: uses.truncated, byPrincipal: data.uses?.byPrincipal ?? [], events: uses.events },
          disabled: [], notes: data.notes,
        };
        const signed = signIncidentReport(report, await d.signer());
        await recordStep(d, 'SignIncidentReport', job.id, [data.arn!], { uses: uses.events.length }, now);
        incidentProbe.at('report');
        return { done: true, ops: [Barrier.putOp(reportPath(job.id), signed)], data: { ...data, actions } };
      }
      default:
        throw new Error(`${KIND_COMPROMISED_CREDENTIALS}: unknown step ${job.step}`);
    }
  };
}
