// The audit event: one CloudTrail-shaped record per AWS API call, admin API call, or job step that
// changes a key or secret. Builders here are the only way events are made, and they only copy what
// src/audit/allowlist.ts admits, so secret values cannot reach the trail by accident.
import { randomUUID } from '../crypto/index.ts';
import { RekeyError } from '../errors.ts';
import {
  KMS_OPERATIONS, SECRETS_OPERATIONS, STS_OPERATIONS, RDS_OPERATIONS, type OperationSpec, excludedStrings, lowerFirst, sanitizeMembers,
} from './allowlist.ts';

export const EVENT_VERSION = '1.11';

export type ResourceType = 'AWS::KMS::Key' | 'AWS::RDS::DBInstance' | 'AWS::SecretsManager::Secret' | 'AWS::IAM::Role' | 'Rekey::Admin::Resource' | 'Rekey::Certs::Certificate' | 'Rekey::Proxy::Target' | 'Rekey::Audit::Sink';

export interface AuditResource {
  accountId: string;
  type: ResourceType;
  ARN: string;
}

export interface UserIdentity {
  /** IAMUser, AssumedRole, Root, AWSAccount, AWSService, Unknown */
  type: string;
  principalId?: string;
  /** Absent when the caller could not be authenticated. */
  arn?: string;
  accountId?: string;
  /** For unauthenticated calls: the access key id the request claimed. */
  accessKeyId?: string;
  /** For service events: the service that acted. */
  invokedBy?: string;
  sessionContext?: { attributes: { mfaAuthenticated: 'true' | 'false' } };
}

export interface AuditEvent {
  eventVersion: typeof EVENT_VERSION;
  /** ISO 8601, second precision, UTC, as CloudTrail writes it: 2024-05-01T12:00:00Z */
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent: string;
  userIdentity: UserIdentity;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  additionalEventData?: Record<string, string | number | boolean>;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  resources: AuditResource[];
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  managementEvent: boolean;
  eventCategory: 'Management';
  recipientAccountId: string;
  errorCode?: string;
  errorMessage?: string;
}

/** Who called. Structurally compatible with the KMS layer's Caller ({accountId, arn, accessKeyId}). */
export interface AuditCaller {
  accountId?: string;
  arn?: string;
  accessKeyId?: string;
  principalId?: string;
  type?: string;
  mfaAuthenticated?: boolean;
}

/** Who called, from where, when, and how it ended: shared by API calls and admin calls. */
export interface CallMeta {
  /** The response body (wire names), when the call succeeded. */
  output?: unknown;
  /** The error, when the call failed (denied, invalid, not found, internal). */
  error?: unknown;
  caller?: AuditCaller | null;
  requestId: string;
  sourceIp: string;
  userAgent: string;
  region: string;
  /** When the request arrived. */
  now: Date;
  eventId?: string;
}

export interface ApiCall extends CallMeta {
  operation: string;
  /** The parsed request body (wire names). Only allowlisted members are copied. */
  input: unknown;
  /** Key or secret ARNs the server resolved (e.g. an alias's target); otherwise derived from input/output. */
  resources?: readonly string[];
  /** The account that owns the resources (default: the caller's). */
  accountId?: string;
}

export const SERVICES = {
  kms: { source: 'kms.amazonaws.com', ops: KMS_OPERATIONS, resourceType: 'AWS::KMS::Key' },
  secretsmanager: { source: 'secretsmanager.amazonaws.com', ops: SECRETS_OPERATIONS, resourceType: 'AWS::SecretsManager::Secret' },
  sts: { source: 'sts.amazonaws.com', ops: STS_OPERATIONS, resourceType: 'AWS::IAM::Role' },
  rds: { source: 'rds.amazonaws.com', ops: RDS_OPERATIONS, resourceType: 'AWS::RDS::DBInstance' },
  // rekey's certificate authority (src/certs): service events only (issuance, rotation)
  certs: { source: 'rekey.certs', ops: {} as Readonly<Record<string, OperationSpec>>, resourceType: 'Rekey::Certs::Certificate' },
  // the PostgreSQL proxy (src/proxy): service events only (client authentication, cutover)
  proxy: { source: 'rekey.proxy', ops: {} as Readonly<Record<string, OperationSpec>>, resourceType: 'Rekey::Proxy::Target' },
  // the audit trail itself (src/audit): service events only (a sink's gap filled after a crash)
  audit: { source: 'rekey.audit', ops: {} as Readonly<Record<string, OperationSpec>>, resourceType: 'Rekey::Audit::Sink' },
  // MariaDB keys (src/keyserve): service events only (key versions added after a KMS rotation)
  keyserve: { source: 'rekey.keyserve', ops: {} as Readonly<Record<string, OperationSpec>>, resourceType: 'Rekey::Admin::Resource' },
  // incident response (src/compliance/incident): service events only (each step of an incident job)
  incident: { source: 'rekey.incident', ops: {} as Readonly<Record<string, OperationSpec>>, resourceType: 'Rekey::Admin::Resource' },
  // alarms (src/alarms): service events only (an alarm's state changed)
  alarms: { source: 'rekey.alarms', ops: {} as Readonly<Record<string, OperationSpec>>, resourceType: 'Rekey::Admin::Resource' },
} as const;
export type ServiceName = keyof typeof SERVICES;

/** CloudTrail's time format: second precision, 'Z'. */
export function eventTimeOf(d: Date): string {
  // Every request of one second has the same eventTime: format it once per second.
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastTime = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastSecond = second;
  }
  return lastTime;
}
let lastSecond = NaN;
let lastTime = '';

/** Whether an operation changes state: such calls must be audited before the change is committed. */
/** The allowlist entry of an operation: own members only ("constructor", "__proto__" are not operations). */
function operationSpec(service: ServiceName, operation: string): OperationSpec | undefined {
  const ops: Readonly<Record<string, OperationSpec>> = SERVICES[service].ops;
  return Object.hasOwn(ops, operation) ? ops[operation] : undefined;
}

export function isMutating(service: ServiceName, operation: string): boolean {
  const spec = operationSpec(service, operation);
  return !(spec?.readOnly ?? false);
}

export function userIdentityOf(caller: AuditCaller | null | undefined): UserIdentity {
  if (!caller?.arn) return caller?.accessKeyId ? { accessKeyId: clip(caller.accessKeyId, 128), type: 'Unknown' } : { type: 'Unknown' };
  const arn = caller.arn;
  const type = caller.type ?? (arn.endsWith(':root') ? 'Root' : arn.includes(':assumed-role/') ? 'AssumedRole' : 'IAMUser');
  // members added in canonical (sorted) order: accessKeyId, accountId, arn, principalId, sessionContext, type
  const id = {} as UserIdentity;
  if (caller.accessKeyId) id.accessKeyId = caller.accessKeyId;
  if (caller.accountId) id.accountId = caller.accountId;
  id.arn = arn;
  if (caller.principalId) id.principalId = caller.principalId;
  if (caller.mfaAuthenticated !== undefined) id.sessionContext = { attributes: { mfaAuthenticated: caller.mfaAuthenticated ? 'true' : 'false' } };
  id.type = type;
  return id;
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/**
 * The error code and message to record. RekeyErrors carry client-facing text written by rekey;
 * anything else is an internal failure and its message (which may hold anything) is not recorded.
 * Either way, strings from the request that the allowlist excluded are cut out of the message, in
 * case a validation message echoed them.
 */
export function errorFields(error: unknown, secrets: readonly string[]): { errorCode: string; errorMessage: string } {
  if (!(error instanceof RekeyError)) return { errorCode: 'InternalFailure', errorMessage: 'An internal error occurred.' };
  return { errorCode: error.code, errorMessage: scrub(clip(error.message, 1024), secrets) };
}

/** Replaces every excluded value, and its base64-decoded text and hex forms, with [REDACTED]. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) {
    if (s.length < 6) continue; // too short to be a meaningful secret; replacing would mangle text
    const forms = [s];
    if (/^[A-Za-z0-9+/=_-]+$/.test(s)) {
      const raw = Buffer.from(s, 'base64');
      if (raw.length >= 6) forms.push(raw.toString('hex'), raw.toString('latin1'), raw.toString('utf8'));
    }
    for (const f of forms) if (f.length >= 6) out = out.split(f).join('[REDACTED]');
  }
  return out;
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Adds v to found when it names a key (kms) or a secret (the others); resourceArns drops repeats. */
function addArn(found: string[], v: unknown, kms: boolean, region: string, accountId: string | undefined): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 2048) return;
  let arn: string;
  if (kms) {
    if (v.startsWith('arn:') && /:key\/[^/]+$/.test(v)) arn = v;
    else if (KEY_ID.test(v) && accountId) arn = `arn:aws:kms:${region}:${accountId}:key/${v.toLowerCase()}`;
    else return;
  } else if (v.startsWith('arn:') && v.includes(':secret:')) {
    arn = v;
  } else {
    return;
  }
  found.push(arn);
}

/** The resource ARNs a call touched: resolved ones from the server, else what input/output name. */
function resourceArns(service: ServiceName, call: Pick<ApiCall, 'input' | 'region' | 'resources'>, output: unknown, accountId: string | undefined): string[] {
  if (call.resources) return [...call.resources];
  const found: string[] = [];
  const out = (output ?? {}) as Record<string, unknown>;
  const inp = (call.input ?? {}) as Record<string, unknown>;
  const region = call.region;
  if (service === 'kms') {
    const md = out.KeyMetadata as Record<string, unknown> | undefined;
    addArn(found, md?.Arn, true, region, accountId);
    addArn(found, out.KeyId, true, region, accountId);
    addArn(found, out.SourceKeyId, true, region, accountId);
    addArn(found, inp.KeyId, true, region, accountId);
    addArn(found, inp.TargetKeyId, true, region, accountId);
    addArn(found, inp.SourceKeyId, true, region, accountId);
    addArn(found, inp.DestinationKeyId, true, region, accountId);
  } else if (service === 'secretsmanager') {
    addArn(found, out.ARN, false, region, accountId);
    addArn(found, inp.SecretId, false, region, accountId);
  } else if (service === 'rds') {
    // RDS: the instance named by DBInstanceIdentifier (stored lower-case, as RDS does) or the ARN of a tag call
    const id = inp.DBInstanceIdentifier;
    if (typeof id === 'string' && /^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(id) && accountId) found.push(`arn:aws:rds:${call.region}:${accountId}:db:${id.toLowerCase()}`);
    const name = inp.ResourceName;
    if (typeof name === 'string' && /^arn:[^:]+:rds:[^:]*:\d{12}:db:[a-z][a-z0-9-]{0,62}$/.test(name)) found.push(name);
  } else if (typeof inp.RoleArn === 'string' && /^arn:[^:]+:iam::\d{12}:role\//.test(inp.RoleArn)) {
    found.push(inp.RoleArn);
  }
  return found.length > 1 ? [...new Set(found)] : found;
}

/** An AWS API call (allowed or denied) as CloudTrail would record it. */
export function awsApiEvent(service: ServiceName, call: ApiCall): AuditEvent {
  return apiCallEvent(service, call, call.output, call.error);
}

/**
 * awsApiEvent with the outcome given apart from the call (AuditedCall's hot path: no copy of the
 * call per event). `error` undefined: the call succeeded with `output`.
 */
export function apiCallEvent(service: ServiceName, call: Omit<ApiCall, 'output' | 'error'>, output: unknown, error: unknown): AuditEvent {
  const svc = SERVICES[service];
  const spec = operationSpec(service, call.operation);
  const accountId = call.accountId ?? call.caller?.accountId;
  const arns = resourceArns(service, call, output, accountId);
  const resources: AuditResource[] = [];
  for (const ARN of arns) resources.push({ ARN, accountId: accountId ?? '', type: svc.resourceType });
  // Members in canonical (sorted) order, so canonicalJson finds them in order and sorts nothing;
  // the error fields, added below, are the exception.
  const ev: AuditEvent = {
    awsRegion: call.region,
    eventCategory: 'Management',
    eventID: call.eventId ?? randomUUID(),
    // Unknown operations are recorded by name (bounded), with no parameters at all.
    eventName: /^[A-Za-z0-9]{1,64}$/.test(call.operation) ? call.operation : 'UnknownOperation',
    eventSource: svc.source,
    eventTime: eventTimeOf(call.now),
    eventType: 'AwsApiCall',
    eventVersion: EVENT_VERSION,
    managementEvent: true,
    readOnly: spec?.readOnly ?? false,
    recipientAccountId: accountId ?? '',
    requestID: call.requestId,
    requestParameters: spec ? nonEmpty(sanitizeMembers(call.input, spec.request)) : null,
    resources,
    responseElements: spec?.response && error === undefined ? (sanitizeMembers(output, spec.response) ?? null) : null,
    sourceIPAddress: clip(call.sourceIp, 64),
    userAgent: clip(call.userAgent, 1024),
    userIdentity: userIdentityOf(call.caller),
  };
  if (error !== undefined) {
    const secrets = [...excludedStrings(call.input, spec?.request), ...excludedStrings(output, spec?.response)];
    Object.assign(ev, errorFields(error, secrets));
  }
  return ev;
}

/** null for a missing or empty object (no member allowlisted and present). */
function nonEmpty(o: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (o === undefined) return null;
  for (const k in o) if (Object.hasOwn(o, k)) return o;
  return null;
}

export function kmsApiEvent(call: ApiCall): AuditEvent {
  return awsApiEvent('kms', call);
}

export function secretsApiEvent(call: ApiCall): AuditEvent {
  return awsApiEvent('secretsmanager', call);
}

export function stsApiEvent(call: ApiCall): AuditEvent {
  return awsApiEvent('sts', call);
}

// Member names that are never recorded, even when an admin route lists them by mistake.
const SENSITIVE_NAME = /secret|password|passphrase|plaintext|token|private|material|credential|ciphertext|blob/i;
/** Identifiers whose names match SENSITIVE_NAME but hold no secret (the id of a key material version). */
const NOT_SENSITIVE: ReadonlySet<string> = new Set(['keyMaterialId']);

function pickAllowed(value: unknown, allow: readonly string[] | undefined): Record<string, unknown> | null {
  if (!allow || typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of allow) {
    if (SENSITIVE_NAME.test(name) || !Object.prototype.hasOwnProperty.call(v, name)) continue;
    const x = v[name];
    if (typeof x === 'string') out[lowerFirst(name)] = clip(x, 4096);
    else if ((typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean') out[lowerFirst(name)] = x;
    else if (Array.isArray(x) && x.every((s) => typeof s === 'string')) out[lowerFirst(name)] = (x as string[]).slice(0, 64);
  }
  return Object.keys(out).length > 0 ? out : null;
}

export interface AdminCall extends CallMeta {
  /**
   * e.g. CreateAccessKey, or a permission name as the admin modules pass it ('iam:CreateUser',
   * 'rekey:ListJobs'): the prefix is dropped from eventName, as CloudTrail names events.
   */
  action: string;
  /** Default 'rekey.admin'. */
  eventSource?: string;
  input?: unknown;
  /** Top-level scalar members of input that may be recorded. Names matching secret/password/token/... never are. */
  allow?: readonly string[];
  allowResponse?: readonly string[];
  /** Default: true for Get/List/Describe/Lookup/Verify actions. */
  readOnly?: boolean;
  resources?: readonly AuditResource[];
}

/** A call to rekey's own admin API (/v1). */
export function adminEvent(call: AdminCall): AuditEvent {
  const accountId = call.caller?.accountId ?? '';
  const m = /^(?:[a-z0-9-]{1,32}:)?([A-Za-z0-9]{1,64})$/.exec(call.action);
  const eventName = m ? m[1]! : 'UnknownAdminAction';
  const ev: AuditEvent = {
    eventVersion: EVENT_VERSION,
    eventTime: eventTimeOf(call.now),
    eventSource: call.eventSource && /^[a-z0-9.-]{1,64}$/.test(call.eventSource) ? call.eventSource : 'rekey.admin',
    eventName,
    awsRegion: call.region,
    sourceIPAddress: clip(call.sourceIp, 64),
    userAgent: clip(call.userAgent, 1024),
    userIdentity: userIdentityOf(call.caller),
    requestParameters: pickAllowed(call.input, call.allow),
    responseElements: call.error === undefined ? pickAllowed(call.output, call.allowResponse) : null,
    requestID: call.requestId,
    eventID: call.eventId ?? randomUUID(),
    readOnly: call.readOnly ?? /^(Get|List|Describe|Lookup|Verify)/.test(eventName),
    resources: call.resources ? [...call.resources] : [],
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: accountId,
  };
  if (call.error !== undefined) Object.assign(ev, errorFields(call.error, excludedStrings(call.input, undefined)));
  return ev;
}

export interface ServiceCall {
  /** RotateKey (rotation done), DeleteKey (deletion executed), RotationSucceeded, ... */
  eventName: string;
  service?: ServiceName;
  region: string;
  accountId: string;
  /** ARNs of the keys or secrets acted on. */
  resources: readonly string[];
  /** Scalar facts about the step (keyId, keyMaterialId, jobId, ...). Names matching secret/password/token/... are dropped. */
  details?: Record<string, string | number | boolean>;
  requestId?: string;
  now: Date;
  eventId?: string;
}

/** An action rekey took on its own (a job step), as CloudTrail's AwsServiceEvent. */
export function serviceEvent(call: ServiceCall): AuditEvent {
  const svc = SERVICES[call.service ?? 'kms'];
  const details: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(call.details ?? {})) {
    if (SENSITIVE_NAME.test(k) && !NOT_SENSITIVE.has(k)) continue;
    if (typeof v === 'string') details[k] = clip(v, 1024);
    else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) details[k] = v;
  }
  const eventId = call.eventId ?? randomUUID();
  return {
    eventVersion: EVENT_VERSION,
    eventTime: eventTimeOf(call.now),
    eventSource: svc.source,
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: svc.source,
    userAgent: svc.source,
    userIdentity: { type: 'AWSService', accountId: call.accountId, invokedBy: svc.source },
    requestParameters: null,
    responseElements: null,
    ...(Object.keys(details).length > 0 ? { additionalEventData: details } : {}),
    requestID: call.requestId ?? eventId,
    eventID: eventId,
    readOnly: false,
    resources: call.resources.map((ARN) => ({ accountId: call.accountId, type: svc.resourceType, ARN })),
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: call.accountId,
  };
}
