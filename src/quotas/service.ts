// Request quotas as AWS applies them (docs/TLS.md#quotas): token buckets per account and rule,
// and per principal within the account. A call over quota gets ThrottlingException (HTTP 400,
// AWS's shape), which every AWS SDK's retry strategy treats as a throttling error and retries
// with backoff. Generic over services: the rule comes from the SigV4 signing name + operation.
//
// Several nodes: each node enforces rate / N, N = live nodes sharing the store (cluster.ts), so
// the cluster admits at most the configured rate (+ one burst per node) when the load is spread
// evenly; with uneven spreading the admitted rate is lower, never higher.
import { ThrottlingException } from '../errors.ts';
import { TokenBucket } from './bucket.ts';
import { DEFAULT_RATES, SHARED_RULES, ruleOf, type QuotaConfig } from './config.ts';

export interface QuotaCaller {
  accountId: string;
  arn: string;
  /** Assumed-role sessions: per-principal settings may name the role. */
  roleArn?: string;
}

const MESSAGES: Record<string, string> = {
  kms: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
};

const MAX_BUCKETS = 100_000;

export class QuotaService {
  private readonly buckets = new Map<string, TokenBucket>();
  private nodes = 1;
  private readonly clock: () => number;

  constructor(private readonly cfg: Readonly<QuotaConfig>, opts: { clock?: () => number } = {}) {
    this.clock = opts.clock ?? Date.now;
  }

  /** Live nodes sharing the quota (from the cluster registry). */
  setNodeCount(n: number): void {
    const next = Math.max(1, Math.floor(n));
    if (next === this.nodes) return;
    this.nodes = next;
    const now = this.clock();
    for (const [k, b] of this.buckets) {
      const rate = Number(k.slice(0, k.indexOf('|'))) / this.nodes;
      b.resize(rate, this.capacityOf(rate), now);
    }
  }

  get nodeCount(): number {
    return this.nodes;
  }

  /** The account-wide rate of a rule (requests per second, whole cluster). */
  rateOf(rule: string): number {
    return this.cfg.rates[rule] ?? DEFAULT_RATES[rule] ?? DEFAULT_RATES[`${rule.split(':')[0]}:*`] ?? 100;
  }

  /** The per-principal rate of a rule for this caller, if any. */
  principalRateOf(rule: string, caller: QuotaCaller): number | undefined {
    const own = this.cfg.principals[caller.arn]?.[rule] ?? (caller.roleArn ? this.cfg.principals[caller.roleArn]?.[rule] : undefined);
    if (own !== undefined) return own;
    return this.cfg.principalShare < 1 && SHARED_RULES.has(rule) ? this.rateOf(rule) * this.cfg.principalShare : undefined;
  }

  /** Counts one call; throws ThrottlingException when the caller or its account is over quota. */
  check(service: string, operation: string, caller: QuotaCaller): void {
    if (!this.cfg.enabled) return;
    const rule = ruleOf(service, operation, this.cfg.rates);
    const now = this.clock();
    const account = this.bucket(this.rateOf(rule), `a|${caller.accountId}|${rule}`, now);
    const pRate = this.principalRateOf(rule, caller);
    const principal = pRate === undefined ? undefined : this.bucket(pRate, `p|${caller.arn}|${rule}`, now);
    // take from both or from neither, so a throttled call does not use up the other bucket
    if (!account.available(now) || (principal && !principal.available(now))) {
      throw new ThrottlingException(MESSAGES[service] ?? 'Rate exceeded');
    }
    account.take(now);
    principal?.take(now);
  }

  private capacityOf(rate: number): number {
    return Math.max(1, rate * this.cfg.burstSeconds);
  }

  private bucket(rate: number, id: string, now: number): TokenBucket {
    // the key starts with the cluster-wide rate so setNodeCount can resize without a lookup
    const key = `${rate}|${id}`;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) for (const [k, old] of this.buckets) if (old.idle(now)) this.buckets.delete(k);
      const r = rate / this.nodes;
      b = new TokenBucket(r, this.capacityOf(r), now);
      this.buckets.set(key, b);
    }
    return b;
  }
}
