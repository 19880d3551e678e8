// The contract between the secret-rotation job (src/secrets/rotation/, which owns versions, staging
// labels, job state and the audit trail) and a rotation strategy (src/secrets/strategies/, which
// owns the database side). The job runs AWS's four steps in order; the strategy does the
// database work of each. Every method must be idempotent: after a crash the job re-runs the step
// that was in flight, possibly after it already took effect on the database.
//
// AWS Secrets Manager rotation steps (Lambda rotation function contract):
//   createSecret  - create the AWSPENDING version (the job stores it; the strategy computes it)
//   setSecret     - make the database accept the AWSPENDING credentials
//   testSecret    - log in with AWSPENDING and check it works
//   finishSecret  - move AWSCURRENT to the pending version (the job does; strategies may clean up)

/** The JSON shape AWS uses for database secrets (RDS rotation templates). Extra fields are kept. */
export interface DbSecret {
  engine: string; // 'postgres' | 'mysql' | 'mariadb'
  host: string;
  port?: number;
  username: string;
  password: string;
  dbname?: string;
  /** Alternating users: the ARN of the secret holding the superuser that changes the others' passwords. */
  masterarn?: string;
  [extra: string]: unknown;
}

export interface StepContext {
  /** ARN of the secret being rotated. */
  secretArn: string;
  /** AWSCURRENT value. */
  current: DbSecret;
  /** AWSPREVIOUS value, if any (alternating users read the other login from it). */
  previous?: DbSecret;
  /** AWSPENDING value (setSecret, testSecret, finishSecret). */
  pending: DbSecret;
  /** AWSCURRENT value of the secret named by current.masterarn (alternating strategies). */
  master?: DbSecret;
  /** Aborted when the job loses its lease or the server shuts down. */
  signal: AbortSignal;
  /** Progress for the job record; never pass secret values. */
  progress(message: string): void;
}

export interface RotationStrategy {
  /** The built-in name, e.g. 'postgresql-single-user' (RotationLambdaARN names it: docs/SECRETS.md). */
  readonly name: string;
  /** True when setSecret needs the master secret (alternating users). */
  readonly needsMaster: boolean;
  /**
   * True when setSecret makes AWSCURRENT stop working (single-user strategies on servers without
   * dual passwords). The job then marks the secret 'switching' from just before setSecret until
   * finishSecret commits, and GetSecretValue of AWSCURRENT waits (bounded) for that window to
   * close, so a client that re-reads the secret after an authentication failure gets a password
   * that works (docs/SECRETS.md).
   */
  readonly invalidatesCurrent: boolean;
  /**
   * createSecret: the AWSPENDING value from AWSCURRENT (and AWSPREVIOUS), with `password` as the new
   * password. Pure; no database access.
   */
  createPending(current: DbSecret, previous: DbSecret | undefined, password: string): DbSecret;
  /** setSecret: the database now accepts the pending credentials (AWSCURRENT keeps working where the strategy allows). */
  setSecret(ctx: StepContext): Promise<void>;
  /** testSecret: log in with the pending credentials and run a trivial statement. */
  testSecret(ctx: StepContext): Promise<void>;
  /** finishSecret: database-side clean-up after AWSCURRENT moved (e.g. MySQL DISCARD OLD PASSWORD). Optional. */
  finishSecret?(ctx: StepContext): Promise<void>;
}
