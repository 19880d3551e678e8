// Alarm rules, as CloudWatch alarms and EventBridge rules serve RDS users (docs/ALARMS.md).
//
// Two kinds of rule:
//   event   an EventBridge-style pattern over audit events (eventSource, eventName, errorCode): a
//           matching event puts the alarm in ALARM; it returns to OK after periodSeconds without one.
//   metric  a Prometheus series of this node (name + label equalities), its value (or its increase
//           over periodSeconds, for counters) compared with a threshold at every evaluation.
// Built-in rules (BUILTIN_RULES) are on by default; a stored rule of the same name replaces one
// (`enabled: false` turns it off), deleting the stored rule restores the built-in.
import type { AuditEvent } from '../audit/index.ts';

export type AlarmStateName = 'OK' | 'ALARM';

/** A field matcher: any of these values, or whether the field is present at all. */
export type FieldMatch = readonly string[] | { exists: boolean };

export interface EventPattern {
  eventSource?: FieldMatch;
  eventName?: FieldMatch;
  errorCode?: FieldMatch;
}

/** CloudWatch's ComparisonOperator names. */
export const COMPARISONS = ['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'] as const;
export type Comparison = (typeof COMPARISONS)[number];

interface RuleBase {
  name: string;
  description: string;
  enabled: boolean;
  /** event: quiet time before OK again; metric (statistic increase): the window. Seconds. */
  periodSeconds: number;
}

export interface EventRule extends RuleBase {
  kind: 'event';
  pattern: EventPattern;
}

export interface MetricRule extends RuleBase {
  kind: 'metric';
  metric: string;
  /** Series whose labels equal these (a list: any of its values); several matching series are summed. */
  labels: Record<string, string | string[]>;
  /** value: the current value; increase: how much it grew over periodSeconds (counters). */
  statistic: 'value' | 'increase';
  comparison: Comparison;
  threshold: number;
  /**
   * No series with these labels (CloudWatch's TreatMissingData): missing (default: the state stays
   * as it is), notBreaching (counts as OK: a count by status with no such instance), breaching.
   */
  treatMissingData?: 'missing' | 'notBreaching' | 'breaching';
}

export type AlarmRule = EventRule | MetricRule;

export const DAY = 86_400;

const BUILTINS: AlarmRule[] = [
  {
    name: 'kms-access-denied', kind: 'event', enabled: true, periodSeconds: 300,
    description: 'A KMS call was refused for lack of permission (key policy, IAM policy or grant).',
    pattern: { eventSource: ['kms.amazonaws.com'], errorCode: ['AccessDeniedException'] },
  },
  {
    name: 'kms-key-disabled-or-deletion-scheduled', kind: 'event', enabled: true, periodSeconds: 300,
    description: 'A KMS key was disabled or scheduled for deletion.',
    pattern: { eventSource: ['kms.amazonaws.com'], eventName: ['DisableKey', 'ScheduleKeyDeletion'], errorCode: { exists: false } },
  },
  {
    name: 'secret-rotation-failed', kind: 'event', enabled: true, periodSeconds: 3600,
    description: 'A secret rotation step failed (it is retried with backoff).',
    pattern: { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationFailed'] },
  },
  {
    name: 'proxy-upstream-login-failed', kind: 'event', enabled: true, periodSeconds: 300,
    description: 'The PostgreSQL proxy could not log in to its database.',
    pattern: { eventSource: ['rekey.proxy'], eventName: ['UpstreamLoginFailed'] },
  },
  {
    name: 'rotation-jobs-failing', kind: 'metric', enabled: true, periodSeconds: 3600,
    description: 'A rotation job (KMS key, secret, instance key change or rewrap) failed an attempt or gave up in the last hour.',
    metric: 'rekey_job_events_total', labels: { kind: ['kms.rotate', 'secrets.rotate', 'db.change-key', 'db.rewrap'], event: ['retrying', 'failed'] },
    statistic: 'increase', comparison: 'GreaterThanThreshold', threshold: 0,
  },
  {
    name: 'audit-sink-failing', kind: 'metric', enabled: true, periodSeconds: 300,
    description: 'An audit sink failed a write in the last 5 minutes.',
    metric: 'rekey_audit_sink_failures_total', labels: {}, statistic: 'increase', comparison: 'GreaterThanThreshold', threshold: 0,
  },
  {
    name: 'certificate-expiring', kind: 'metric', enabled: true, periodSeconds: 300,
    description: 'The API\'s server certificate expires within 14 days.',
    metric: 'rekey_certificate_expiry_seconds', labels: { certificate: 'server' }, statistic: 'value', comparison: 'LessThanThreshold', threshold: 14 * DAY,
  },
  {
    name: 'db-inaccessible-encryption-credentials', kind: 'metric', enabled: true, periodSeconds: 300,
    description: 'A database instance cannot use its KMS key (status inaccessible-encryption-credentials or -recoverable).',
    metric: 'rekey_db_instances', labels: { status: ['inaccessible-encryption-credentials', 'inaccessible-encryption-credentials-recoverable'] }, statistic: 'value', comparison: 'GreaterThanThreshold', threshold: 0,
    treatMissingData: 'notBreaching',
  },
  {
    name: 'compliance-findings', kind: 'metric', enabled: true, periodSeconds: 3600,
    description: 'The latest scheduled compliance evaluation has findings (rekey compliance report names them; docs/COMPLIANCE.md).',
    metric: 'rekey_compliance_findings', labels: {}, statistic: 'value', comparison: 'GreaterThanThreshold', threshold: 0,
    treatMissingData: 'notBreaching',
  },
];
export const BUILTIN_RULES: readonly AlarmRule[] = Object.freeze(BUILTINS);

export const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,199}$/;

function fieldMatches(m: FieldMatch | undefined, value: string | undefined): boolean {
  if (m === undefined) return true;
  if ('exists' in m) return m.exists === (value !== undefined);
  return value !== undefined && m.includes(value);
}

/** Whether an audit event matches a pattern (every named field matches; an empty pattern matches nothing). */
export function matches(p: EventPattern, ev: Pick<AuditEvent, 'eventSource' | 'eventName' | 'errorCode'>): boolean {
  if (p.eventSource === undefined && p.eventName === undefined && p.errorCode === undefined) return false;
  return fieldMatches(p.eventSource, ev.eventSource) && fieldMatches(p.eventName, ev.eventName) && fieldMatches(p.errorCode, ev.errorCode);
}

export function breaches(c: Comparison, value: number, threshold: number): boolean {
  switch (c) {
    case 'GreaterThanThreshold': return value > threshold;
    case 'GreaterThanOrEqualToThreshold': return value >= threshold;
    case 'LessThanThreshold': return value < threshold;
    case 'LessThanOrEqualToThreshold': return value <= threshold;
  }
}
