// The Secrets Manager domain's one entry point (AWS Secrets Manager JSON 1.1, docs/SECRETS.md).
// The HTTP adapter passes the X-Amz-Target suffix, the parsed body, the caller and the request
// facts. Only RekeyError subclasses leave call(): anything else becomes InternalServiceError with
// the original error as `cause` (for the log, never for the client).
import { upcomingSecretWork } from './upcoming.ts';
import { InternalServiceError, RekeyError, UnknownOperationException } from '../errors.ts';
import { reportInternalError } from '../diagnostics.ts';
import type { JobEngine } from '../jobs/engine.ts';
import { partitionOf } from '../kms/ids.ts';
import type { KmsService, RequestFacts } from '../kms/service.ts';
import { WriteGate } from '../storage/gate.ts';
import { compileRequest, type RequestValidator } from '../validation/request.ts';
import type { Identity } from '../iam/identity.ts';
import type { Barrier } from '../storage/barrier.ts';
import { SecretsContext, type Operation } from './context.ts';
import { OPERATIONS } from './operations/index.ts';
import { SecretRotation } from './rotation/job.ts';
import { RotationRegistry } from './rotation/registry.ts';
import { indexOps } from './rotation/schedule.ts';
import { WebhookStore, type WebhookOptions } from './rotation/webhooks.ts';
import type { RotationStrategy } from './strategy.ts';

export interface SecretsOptions {
  barrier: Barrier;
  kms: KmsService;
  region: string;
  accountId: string;
  clock?: () => Date;
  /** Built-in rotation strategies (RotationLambdaARN function:rekey-<name>). */
  strategies?: readonly RotationStrategy[];
  webhooks?: WebhookOptions;
  /** How long GetSecretValue(AWSCURRENT) waits for a switching rotation (default 5000 ms). */
  switchWaitMs?: number;
  /** BENCHMARKS ONLY: no authorization. */
  unsafeSkipAuthorization?: boolean;
}

export class SecretsService {
  readonly operations: readonly string[];
  readonly ctx: SecretsContext;
  readonly rotation: SecretRotation;
  readonly registry: RotationRegistry;
  readonly webhooks: WebhookStore;
  private readonly registry_ = new Map<string, { op: Operation<unknown>; validate?: RequestValidator<unknown> }>();

  constructor(o: SecretsOptions) {
    const clock = o.clock ?? (() => new Date());
    this.webhooks = new WebhookStore(o.barrier, o.webhooks ?? {}, clock);
    this.registry = new RotationRegistry(o.strategies ?? [], this.webhooks, { region: o.region, accountId: o.accountId });
    const hooks = {
      resolve: (arn: string) => this.registry.resolve(arn),
      enqueue: (rec: Parameters<SecretRotation['enqueue']>[0], versionId: string, lambdaArn: string) => this.rotation.enqueue(rec, versionId, lambdaArn),
      cancel: (jobId: string) => this.rotation.cancel(jobId),
      isActive: (jobId: string) => this.rotation.isActive(jobId),
      indexOps,
    };
    this.ctx = new SecretsContext({
      barrier: o.barrier, kms: o.kms, partition: partitionOf(o.region), region: o.region, accountId: o.accountId,
      authorize: o.unsafeSkipAuthorization !== true, clock, rotation: hooks, switchWaitMs: o.switchWaitMs ?? 5000,
    });
    this.rotation = new SecretRotation(this.ctx, this.registry);
    for (const op of OPERATIONS) this.registry_.set(op.name, { op: op as Operation<unknown> });
    this.operations = Object.freeze([...this.registry_.keys()].sort());
  }

  /** Scheduled rotations and ends of recovery windows due by `until` (src/secrets/upcoming.ts). */
  upcoming(o: { until: Date; limit: number }): ReturnType<typeof upcomingSecretWork> {
    return upcomingSecretWork(this.ctx.barrier, o);
  }

  /** Registers the secrets.rotate / secrets.delete kinds and their schedule sources. */
  register(engine: JobEngine): void {
    this.rotation.register(engine);
  }

  async call(operation: string, input: unknown, caller: Identity, request: RequestFacts = {}): Promise<Record<string, unknown>> {
    const reg = this.registry_.get(operation);
    if (!reg) throw new UnknownOperationException(`Unknown operation ${String(operation).slice(0, 128)}`);
    try {
      reg.validate ??= compileRequest(reg.op.input);
      const req = reg.validate(input);
      return await reg.op.run(this.ctx.forCall(request.beforeCommit ? new WriteGate(request.beforeCommit) : undefined), req, { caller, request });
    } catch (e) {
      if (e instanceof RekeyError) throw e;
      const err = new InternalServiceError('An internal error occurred.');
      err.cause = e;
      reportInternalError('secretsmanager ' + operation, e, request.requestId);
      throw err;
    }
  }
}
