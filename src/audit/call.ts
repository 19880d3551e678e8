// One audited AWS API call: the helper that gives the server "exactly one event per call" and
// "an unaudited request has no effect" without the server juggling the two cases.
//
//   const call = new AuditedCall(audit, { service: 'kms', operation, input, caller, requestId, ... });
//   try {
//     const output = await kms.call(operation, input, caller, { beforeCommit: (out) => call.succeeded(out) });
//     await call.succeeded(output);      // no-op when beforeCommit already recorded it
//     return output;                     // only now does the client see the result
//   } catch (err) {
//     await call.failed(err);            // throws InternalFailure when even that cannot be recorded
//     throw err;
//   }
//
// For mutating operations the event must be recorded after the outcome is decided and BEFORE it
// is committed (the `beforeCommit` hook); when the audit write fails, the operation aborts and
// nothing changed. Read-only and data-plane operations commit nothing, so recording before the
// response is sent is enough: when it fails, the result (plaintext, data key) is never released.
// If a commit fails after its success event was recorded, failed() appends a correction event with
// the same requestID and `additionalEventData.correctsEventId`.
import { InternalFailure } from '../errors.ts';
import { type ApiCall, type AuditEvent, type ServiceName, apiCallEvent, isMutating } from './event.ts';

export interface CallContext extends Omit<ApiCall, 'output' | 'error' | 'eventId'> {
  service: ServiceName;
}

export interface Appender {
  append(event: AuditEvent): Promise<void>;
  /**
   * True for an appender that records nothing (UNAUDITED, the benchmark-only REKEY_AUDIT=off):
   * AuditedCall then builds no event at all.
   */
  readonly discards?: boolean;
}

/** BENCHMARKS ONLY (REKEY_AUDIT=off, src/server/unsafe-no-auth.ts): an appender that records nothing. */
export const UNAUDITED: Appender = Object.freeze({ discards: true, append: (): Promise<void> => Promise.resolve() });

const REFUSED = 'The request could not be audited; it was not performed.';

export class AuditedCall {
  private success: Promise<void> | null = null;
  private successEventId: string | null = null;
  private failure: Promise<void> | null = null;

  constructor(private readonly log: Appender, private readonly ctx: CallContext) {}

  /** Whether the operation changes state (and so must record before its commit). */
  get mutating(): boolean {
    return isMutating(this.ctx.service, this.ctx.operation);
  }

  /** Records the successful outcome once; later calls return the same promise. Rejects with InternalFailure. */
  succeeded(output: unknown): Promise<void> {
    if (this.success) return this.success;
    if (this.log.discards === true) return (this.success = Promise.resolve());
    this.success = this.recordSuccess(apiCallEvent(this.ctx.service, this.ctx, output, undefined));
    return this.success;
  }

  private async recordSuccess(event: AuditEvent): Promise<void> {
    try {
      await this.log.append(event);
    } catch {
      throw new InternalFailure(REFUSED);
    }
    this.successEventId = event.eventID;
  }

  /**
   * Records a failed outcome (denied, invalid, not found, internal). After a recorded success it
   * records a correction instead. Rejects with InternalFailure when the event cannot be written;
   * the caller then answers with that error, not the original one.
   */
  failed(error: unknown): Promise<void> {
    if (this.failure) return this.failure;
    if (this.log.discards === true) return (this.failure = Promise.resolve());
    const event = apiCallEvent(this.ctx.service, this.ctx, undefined, error);
    if (this.successEventId) event.additionalEventData = { correctsEventId: this.successEventId };
    this.failure = this.log.append(event).catch(() => {
      throw new InternalFailure(REFUSED);
    });
    return this.failure;
  }
}
