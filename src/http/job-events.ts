// Audit events for what jobs do (key rotation and deletion, secret rotation): AwsServiceEvents.
// API calls are audited by the pipeline (pipeline.ts, admin-routes.ts), not here.
import { type AuditLog, serviceEvent } from '../audit/index.ts';
import type { JobEvent } from '../jobs/runner.ts';
import type { KeyEvent } from '../kms/lifecycle/hooks.ts';
import type { RotateJobData } from '../secrets/rotation/job.ts';

/**
 * Key events from rotation and deletion jobs (AwsServiceEvent RotateKey / DeleteKey). They are
 * appended after the job step commits: at most once, so a crash between the commit and the
 * append loses the event (docs/AUDIT.md lists this limit); an append failure is logged.
 */
export function keyEventHook(audit: AuditLog, region: string, accountId: string, log: (msg: string) => void) {
  return (e: KeyEvent): void => {
    audit.append(serviceEvent({
      eventName: e.type, region, accountId, resources: [e.keyArn], now: e.at,
      details: { keyId: e.keyId, ...(e.materialId ? { keyMaterialId: e.materialId } : {}), ...(e.trigger ? { trigger: e.trigger } : {}) },
    })).catch(() => log(`audit: could not record ${e.type} for ${e.keyArn}`));
  };
}

/**
 * Secret rotation and deletion jobs as AwsServiceEvents from secretsmanager (CloudTrail's
 * RotationStarted / RotationSucceeded / RotationFailed; EndSecretDeletion when a recovery window
 * ends). Only the step and the error's name are recorded: a strategy's error message could echo
 * database output. At most once, like keyEventHook.
 */
export function secretsJobHook(audit: AuditLog, region: string, accountId: string, log: (msg: string) => void) {
  return (e: JobEvent): void => {
    const kind = e.job.kind;
    if (kind !== 'secrets.rotate' && kind !== 'secrets.delete') return;
    let eventName: string | null = null;
    if (kind === 'secrets.delete') eventName = e.type === 'succeeded' ? 'EndSecretDeletion' : null;
    else if (e.type === 'step' && e.step === 'createSecret') eventName = 'RotationStarted';
    else if (e.type === 'succeeded' && e.step === 'finishSecret') eventName = 'RotationSucceeded';
    else if ((e.type === 'retrying' || e.type === 'failed') && e.step !== 'schedule') eventName = 'RotationFailed';
    if (!eventName) return;
    const resource = e.job.target.startsWith('arn:') ? [e.job.target] : [];
    // a rotation's events name the version it makes and what rotates it (RotationLambdaARN names a
    // built-in strategy or a webhook: its function name, docs/SECRETS.md)
    const d = kind === 'secrets.rotate' ? e.job.data as Partial<RotateJobData> : {};
    const rotation = {
      ...(typeof d.versionId === 'string' ? { versionId: d.versionId } : {}),
      ...(typeof d.lambdaArn === 'string' ? { rotationLambdaArn: d.lambdaArn, strategy: d.lambdaArn.slice(d.lambdaArn.lastIndexOf(':') + 1) } : {}),
    };
    audit.append(serviceEvent({
      service: 'secretsmanager', eventName, region, accountId, resources: resource, now: new Date(),
      details: { jobId: e.job.id, step: e.step, ...rotation, ...(e.error ? { errorName: e.error.name, attempt: e.error.attempt } : {}) },
    })).catch(() => log(`audit: could not record ${eventName} for ${e.job.target}`));
  };
}
