// Delivery of one alarm state change to one target: the durable job kind alarms.notify. A failed
// delivery throws, so the job engine retries it with backoff (alarms/service.ts register) and it
// survives a restart. The body is fixed when the job is enqueued; each attempt signs it anew.
//
// Webhook (like the rotation webhooks of docs/SECRETS.md):
//   POST <url>  content-type: application/json
//   X-Rekey-Timestamp: <epoch seconds of this attempt>
//   X-Rekey-Signature: v1=<hex HMAC-SHA256(signingSecret, "<timestamp>.<body>")>
//   X-Rekey-Alarm: <alarm name>
// Anything but a 2xx answer within the timeout fails the attempt. Redirects are not followed.
//
// Syslog: one RFC 5424 message (msgId "alarm", severity warning for ALARM, notice for OK) whose MSG
// is the JSON body, through the audit syslog sink's transport (TCP, octet counting, reconnects).
import { hmacSha256 } from '../crypto/index.ts';
import type { StepHandler } from '../jobs/kinds.ts';
import type { AlarmStateName, EventPattern } from './model.ts';
import { checkWebhookUrl, type AlarmStore, type TargetRecord } from './store.ts';

export const NOTIFY_KIND = 'alarms.notify';

/** The message, in the spirit of CloudWatch's SNS alarm message. */
export interface Notification {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription: string;
  OldStateValue: AlarmStateName;
  NewStateValue: AlarmStateName;
  NewStateReason: string;
  StateChangeTime: string;
  Region: string;
  AWSAccountId: string;
  Trigger:
    | { kind: 'event'; pattern: EventPattern; periodSeconds: number }
    | { kind: 'metric'; metric: string; labels: Record<string, string | string[]>; statistic: string; comparison: string; threshold: number; periodSeconds: number; treatMissingData?: string };
}

export interface NotifyData {
  target: string;
  body: string;
  alarm: string;
  state: AlarmStateName;
}

export interface Senders {
  webhook(t: Extract<TargetRecord, { type: 'webhook' }>, body: string, alarm: string, signal: AbortSignal): Promise<void>;
  syslog(t: Extract<TargetRecord, { type: 'syslog' }>, body: string, state: AlarmStateName): Promise<void>;
}

export function signAlarm(secret: string, timestamp: string, body: string): string {
  return `v1=${hmacSha256(secret, `${timestamp}.${body}`).toString('hex')}`;
}

export class NotificationFailed extends Error {
  override readonly name = 'NotificationFailed';
}

/** The webhook sender over fetch. */
export function webhookSender(o: { allowHttpLoopback?: boolean; timeoutMs?: number; clock?: () => Date }): Senders['webhook'] {
  return async (t, body, alarm, signal) => {
    checkWebhookUrl(t.url, o);
    const ts = String(Math.floor((o.clock ?? (() => new Date()))().getTime() / 1000));
    let res: Response;
    try {
      res = await fetch(t.url, {
        method: 'POST', body, redirect: 'error',
        headers: { 'content-type': 'application/json', 'x-rekey-timestamp': ts, 'x-rekey-signature': signAlarm(t.signingSecret, ts, body), 'x-rekey-alarm': alarm, 'user-agent': 'rekey-alarms' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs ?? 10_000)]),
      });
    } catch (e) {
      throw new NotificationFailed(`alarm webhook ${t.name}: ${e instanceof Error ? e.name : 'error'}`);
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new NotificationFailed(`alarm webhook ${t.name} answered HTTP ${res.status}`);
  };
}

export function notifyHandler(store: AlarmStore, senders: Senders): StepHandler<NotifyData> {
  return async (job, ctx) => {
    const t = await store.target(job.data.target);
    if (!t) return { done: true }; // the target was removed since: nothing to deliver
    if (t.type === 'webhook') await senders.webhook(t, job.data.body, job.data.alarm, ctx.signal);
    else await senders.syslog(t, job.data.body, job.data.state);
    return { done: true };
  };
}
