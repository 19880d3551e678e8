// One RDS operation as data: its IAM action, how its request is decoded and validated, the
// resource it is authorized on, and what it does. src/rds/api.ts runs them in the pipeline's order
// (decode -> authorize -> run, with the audit gate inside the DbService call); one file per
// operation under src/rds/operations/.
import type { DbCallContext, DbService } from '../db/api.ts';
import type { QueryParams } from './form.ts';
import type { RdsResult } from './wire.ts';

/** Where the operation runs: the database component and the names for ARNs. */
export interface RdsEnv {
  db: DbService;
  partition: string;
  region: string;
  accountId: string;
}

export interface RdsOperation<I> {
  /** The Query Action, e.g. "CreateDBInstance"; the IAM action is "rds:" + this. */
  name: string;
  /** Whether the operation changes state (audited before its commit through DbCallContext.beforeCommit). */
  mutating: boolean;
  /** Decodes and validates the form parameters into the wire request (what the audit trail sees). Throws RDS faults. */
  decode(params: QueryParams): I;
  /** The resource ARN the caller must be allowed the action on ("*" for account-level calls). */
  resource(input: I, env: RdsEnv): string;
  run(input: I, env: RdsEnv, ctx: DbCallContext): Promise<RdsResult>;
}

/** Lets a table hold operations with different request types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRdsOperation = RdsOperation<any>;

export function defineOperation<I>(op: RdsOperation<I>): RdsOperation<I> {
  return op;
}
