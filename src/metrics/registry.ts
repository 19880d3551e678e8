// rekey's Prometheus metrics (docs/METRICS.md): one prom-client Registry per server (never the
// library's global one, so two servers in one process, as in the tests, do not mix).
//
// Two kinds of series:
//   - observed on the request path, in one place: RequestObserver.observe, called once per call by
//     the two pipelines (src/http/pipeline.ts serveAwsCall, src/http/admin-routes.ts serveAdminCall);
//   - collected on scrape from state the domains already hold (src/metrics/collectors.ts): proxy
//     pools, audit stats, certificates, jobs, instances, key usage. Nothing is counted twice.
//
// Labels are bounded: API and operation names come from route tables (unknown operations are
// recorded as "UnknownOperation"), outcomes are error codes from the error taxonomy, keys are key
// ids. Never a request id, a principal, an address, a secret or a value.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the request pipelines report: one call of `operation` on `api`, its outcome and its duration. */
export interface RequestObserver {
  /** outcome: "success" or the error code the caller got (ThrottlingException, AccessDeniedException, ...). */
  observe(api: string, operation: string, outcome: string, seconds: number): void;
}

/** Latency buckets (seconds): a cached Encrypt takes well under a millisecond, a CreateKey with its audit write a few. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Throttling error codes: AWS JSON's and the Query protocol's names for the same refusal. */
const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'LimitExceededException']);

const OPERATION = /^[A-Za-z0-9:._-]{1,64}$/;
/** Codes meaning "no such operation": the name the caller sent is not recorded. */
const UNKNOWN = new Set(['UnknownOperationException', 'InvalidAction']);
/**
 * Distinct operation names kept per API. The AWS JSON parse stage takes the operation from
 * X-Amz-Target before the service checks it (and before authentication), so a caller could invent
 * names: past this many, new names are recorded as "other".
 */
export const MAX_OPERATIONS_PER_API = 300;

export class Metrics implements RequestObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'api' | 'operation' | 'outcome'>;
  private readonly latency: Histogram<'api' | 'operation'>;
  private readonly throttles: Counter<'api' | 'operation'>;
  private readonly operations = new Map<string, Set<string>>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'rekey_requests_total', help: 'API calls answered, by API (kms, secretsmanager, sts, rds, admin), operation and outcome (success or the error code).',
      labelNames: ['api', 'operation', 'outcome'], registers,
    });
    this.latency = new Histogram({
      name: 'rekey_request_duration_seconds', help: 'Time from the first pipeline stage to the answer, by API and operation.',
      labelNames: ['api', 'operation'], buckets: LATENCY_BUCKETS, registers,
    });
    this.throttles = new Counter({
      name: 'rekey_throttled_requests_total', help: 'Calls refused by a request quota (ThrottlingException), by API and operation.',
      labelNames: ['api', 'operation'], registers,
    });
    // process_* and nodejs_* (CPU, memory, event-loop lag, handles): cheap, computed on scrape
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  observe(api: string, operation: string, outcome: string, seconds: number): void {
    // the pipelines pass route-table names; anything else is folded so a hostile name adds no series
    const out = OPERATION.test(outcome) ? outcome : 'InternalFailure';
    const op = this.operationLabel(api, UNKNOWN.has(out) || !OPERATION.test(operation) ? 'UnknownOperation' : operation);
    this.requests.inc({ api, operation: op, outcome: out });
    this.latency.observe({ api, operation: op }, seconds);
    if (THROTTLED.has(out)) this.throttles.inc({ api, operation: op });
  }

  private operationLabel(api: string, operation: string): string {
    let seen = this.operations.get(api);
    if (!seen) this.operations.set(api, (seen = new Set()));
    if (seen.has(operation)) return operation;
    if (seen.size >= MAX_OPERATIONS_PER_API) return 'other';
    seen.add(operation);
    return operation;
  }

  /** A gauge whose values are read from the domain at each scrape (`read` sets them after a reset). */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => Promise<void> | void): void {
    new Gauge<L>({
      name, help, labelNames, registers: [this.registry],
      async collect() {
        this.reset();
        await read((labels, value) => this.set(labels as Partial<Record<L, string | number>>, value));
      },
    });
  }

  /**
   * A counter whose totals the domain already keeps (monotonic since this process started), read at
   * each scrape: Prometheus sees a counter (rate() works, a restart is a counter reset).
   */
  counterFrom<L extends string>(name: string, help: string, labelNames: readonly L[], read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => Promise<void> | void): void {
    new Counter<L>({
      name, help, labelNames, registers: [this.registry],
      async collect() {
        this.reset();
        await read((labels, value) => {
          if (value > 0) this.inc(labels as Partial<Record<L, string | number>>, value);
        });
      },
    });
  }

  /** A counter incremented by events (job transitions): returns its inc. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): (labels: Partial<Record<L, string>>, by?: number) => void {
    const c = new Counter<L>({ name, help, labelNames, registers: [this.registry] });
    return (labels, by = 1) => c.inc(labels as Partial<Record<L, string | number>>, by);
  }

  /** The exposition (text format 0.0.4) and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
