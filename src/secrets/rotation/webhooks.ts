// Rotation webhooks: the Lambda counterpart for systems rekey has no built-in strategy for. A
// webhook is registered by name; RotationLambdaARN arn:aws:lambda:<region>:<account>:function:<name>
// selects it. For each step rekey POSTs the Lambda rotation event {Step, SecretId,
// ClientRequestToken} to the HTTPS endpoint, signed with the webhook's signing secret:
//   X-Rekey-Timestamp: <epoch seconds>
//   X-Rekey-Signature: v1=<hex HMAC-SHA256(signingSecret, "<timestamp>.<body>")>
// A non-2xx answer, a timeout or a network error fails the step (the job retries with backoff).
//
//   secrets/webhooks/<name>   WebhookRecord (the signing secret is stored through the barrier only)
import { hmacSha256, randomBytes } from '../../crypto/index.ts';
import { InvalidParameterException, ResourceExistsException, ResourceNotFoundException } from '../../errors.ts';
import { gatedBarrier, type BarrierView, type WriteGate } from '../../storage/gate.ts';

export const WEBHOOK_PREFIX = 'secrets/webhooks/';
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface WebhookRecord {
  v: 1;
  name: string;
  url: string;
  signingSecret: string;
  created: number;
}

export interface WebhookOptions {
  /** Development and tests only: also accept http:// URLs to 127.0.0.1, ::1 or localhost. */
  allowHttpLoopback?: boolean;
  /** Per-step request timeout (default 30 s). */
  timeoutMs?: number;
}

export function checkUrl(raw: string, o: WebhookOptions): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidParameterException('The webhook url is not a valid URL.');
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && loopback && o.allowHttpLoopback) return u;
  throw new InvalidParameterException('The webhook url must use https (http is allowed only to the loopback address when the server enables it for development).');
}

export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${hmacSha256(secret, `${timestamp}.${body}`).toString('hex')}`;
}

export class WebhookStore {
  constructor(private readonly barrier: BarrierView, readonly opts: WebhookOptions = {}, private readonly clock: () => Date = () => new Date()) {}

  /** The store as one mutating admin call sees it: writes pass the call's audit gate first (src/storage/gate.ts). */
  forCall(gate: WriteGate): WebhookStore {
    return new WebhookStore(gatedBarrier(this.barrier, gate), this.opts, this.clock);
  }

  async add(name: string, url: string): Promise<WebhookRecord> {
    if (!NAME.test(name)) throw new InvalidParameterException('A webhook name is 1 to 64 letters, digits, "-" or "_".');
    checkUrl(url, this.opts);
    const rec: WebhookRecord = { v: 1, name, url, signingSecret: randomBytes(32).toString('base64url'), created: this.clock().getTime() };
    try {
      await this.barrier.putJSON(WEBHOOK_PREFIX + name, rec, { expectVersion: 0 });
    } catch (e) {
      if ((e as Error).name === 'CasConflict') throw new ResourceExistsException(`A rotation webhook named ${name} already exists.`);
      throw e;
    }
    return rec;
  }

  async get(name: string): Promise<WebhookRecord | null> {
    if (!NAME.test(name)) return null;
    return (await this.barrier.getJSON<WebhookRecord>(WEBHOOK_PREFIX + name))?.value ?? null;
  }

  async list(): Promise<Omit<WebhookRecord, 'signingSecret'>[]> {
    const out: Omit<WebhookRecord, 'signingSecret'>[] = [];
    for (const k of await this.barrier.list(WEBHOOK_PREFIX)) {
      const r = (await this.barrier.getJSON<WebhookRecord>(k))?.value;
      if (r) out.push({ v: 1, name: r.name, url: r.url, created: r.created });
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.barrier.delete(WEBHOOK_PREFIX + name))) throw new ResourceNotFoundException(`No rotation webhook named ${name}.`);
  }

  /** Calls the webhook for one rotation step; throws on anything but a 2xx answer. */
  async invoke(w: WebhookRecord, event: { Step: string; SecretId: string; ClientRequestToken: string }, signal: AbortSignal): Promise<void> {
    checkUrl(w.url, this.opts);
    const body = JSON.stringify(event);
    const ts = String(Math.floor(this.clock().getTime() / 1000));
    const res = await fetch(w.url, {
      method: 'POST', body, redirect: 'error',
      headers: { 'content-type': 'application/json', 'x-rekey-timestamp': ts, 'x-rekey-signature': signature(w.signingSecret, ts, body), 'user-agent': 'rekey-rotation' },
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs ?? 30_000)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new WebhookFailed(`rotation webhook ${w.name} answered ${event.Step} with HTTP ${res.status}`);
  }
}

export class WebhookFailed extends Error {
  override readonly name = 'WebhookFailed';
}
