// Maps the adapters' per-call hooks (STS, IAM admin, jobs admin, audit admin) to audit events.
// Every hook resolves only after the event is durably written, so a call that cannot be audited
// is answered with an internal error (the adapters turn a throwing hook into InternalFailure).
import { signedRequestOf } from './signed-request.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RekeyError, ALL_ERRORS, InternalFailure } from '../errors.ts';
import { type AuditLog, adminEvent, stsApiEvent, serviceEvent } from '../audit/index.ts';
import type { JobEvent } from '../jobs/runner.ts';
import type { KeyEvent } from '../kms/lifecycle/hooks.ts';
import type { StsCall } from './sts.ts';
import type { AdminCallRecord } from './admin-call.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';

/** An error object carrying a wire code, for events about errors another protocol names (STS). */
function errorOf(code: string, message: string): RekeyError {
  const C = ALL_ERRORS[code] ?? InternalFailure;
  const e = new C(message);
  if (C === InternalFailure && code !== 'InternalFailure') Object.defineProperty(e, 'code', { value: code });
  return e;
}

export function stsHook(audit: AuditLog, region: string) {
  return (c: StsCall): Promise<void> => audit.append(stsApiEvent({
    operation: c.action, input: c.parameters, requestId: c.requestId, sourceIp: c.sourceIp, userAgent: c.userAgent,
    region, now: new Date(), caller: c.identity ?? null,
    ...(c.errorCode ? { error: errorOf(c.errorCode, c.errorMessage ?? '') } : { output: {} }),
  }));
}


export function adminHook(audit: AuditLog, region: string, eventSource: string, accountId = '') {
  return (c: AdminCallRecord): Promise<void> => audit.append(adminEvent({
    action: c.action, eventSource, input: c.parameters, allow: Object.keys(c.parameters),
    caller: c.identity ?? null, requestId: c.requestId, sourceIp: c.sourceIp, userAgent: c.userAgent,
    region, now: new Date(), resources: c.resource === '*' ? [] : [{ ARN: c.resource, type: 'Rekey::Admin::Resource', accountId: c.identity?.accountId ?? accountId }],
    ...(c.error ? { error: c.error } : {}),
  }));
}

/**
 * The audit admin routes (/v1/audit/...) show who did what: they require a SigV4-signed request
 * from a principal allowed rekey:LookupAuditEvents (events), rekey:VerifyAuditTrail (verify) or
 * rekey:GetAuditPublicKey (public key), and each call is itself audited.
 */
export function guardAuditAdmin(app: FastifyInstance, iam: IamService, audit: AuditLog, region: string): void {
  const actionFor = (url: string): string =>
    url.startsWith('/v1/audit/verify') ? 'rekey:VerifyAuditTrail' : url.startsWith('/v1/audit/public-key') ? 'rekey:GetAuditPublicKey' : 'rekey:LookupAuditEvents';
  app.addHook('preHandler', async (req: FastifyRequest) => {
    if (!req.url.startsWith('/v1/audit/')) return;
    const action = actionFor(req.url);
    const resource = `arn:aws:rekey:${region}:${iam.accountId}:audit-trail`;
    let identity: Identity | undefined;
    let error: RekeyError | undefined;
    try {
      identity = await iam.authenticate(signedRequestOf(req, Buffer.alloc(0)), 'iam');
      iam.authorizeAdmin(identity, action, resource, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
    } catch (e) {
      error = e instanceof RekeyError ? e : new InternalFailure(`An internal error occurred. Request ID: ${req.id}`);
    }
    const ua = req.headers['user-agent'];
    await adminHook(audit, region, 'rekey.admin')({
      action, resource, requestId: req.id, parameters: req.query as Record<string, unknown>,
      sourceIp: req.ip, userAgent: typeof ua === 'string' ? ua : '', ...(identity ? { identity } : {}), ...(error ? { error } : {}),
    });
    if (error) throw error;
  });
}

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
    audit.append(serviceEvent({
      service: 'secretsmanager', eventName, region, accountId, resources: resource, now: new Date(),
      details: { jobId: e.job.id, step: e.step, ...(e.error ? { errorName: e.error.name, attempt: e.error.attempt } : {}) },
    })).catch(() => log(`audit: could not record ${eventName} for ${e.job.target}`));
  };
}
