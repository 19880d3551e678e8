// The job record and its storage layout.
//
// A job is a stored state machine. Everything a worker needs to resume it after a crash is in the
// record: which step comes next, how many times that step has been started, and who holds the lease.
//
// Storage (every value passes the barrier):
//   jobs/j/<id>                      the record; its storage version is the CAS token for every change
//   jobs/due/<runAt ISO>/<id>        one entry per queued job: when it may run
//   jobs/lease/<expiry ISO>/<id>     one entry per running job: when its lease runs out
//   jobs/s/<state>/<id>              one entry per job: listing by state reads only that state
//   jobs/dedupe/<key>                { id } of the one job created for this dedupe key
//   jobs/sched/<source>              scheduler cursor of one schedule source
// Index entries are written, moved and removed in the same transaction as the record, guarded by
// the record's CAS, so they can never disagree with it.
import { randomBytes } from '../crypto/index.ts';
import { ValidationException } from '../errors.ts';

export const JobState = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type JobStateName = (typeof JobState)[keyof typeof JobState];
export const JOB_STATES: readonly JobStateName[] = Object.values(JobState);
export const TERMINAL_STATES: ReadonlySet<JobStateName> = new Set([JobState.succeeded, JobState.failed, JobState.cancelled]);

export interface Lease {
  owner: string;
  /** Epoch ms. After this instant any node may take the job over. */
  expiresAt: number;
}

export interface Progress {
  done: number;
  total: number;
  message?: string;
}

export interface JobError {
  /** The error's name (a RekeyError code when it is one). */
  name: string;
  message: string;
  step: string;
  attempt: number;
  at: number;
}

/** Dates are epoch milliseconds inside rekey (as in the KMS model); the admin API shows ISO strings. */
export interface Job<D = unknown> {
  v: 1;
  id: string;
  kind: string;
  /** What the job acts on (a key id, a secret ARN, ...): for people and filters, not for the engine. */
  target: string;
  /** The next step to run (or the one that ran last, once the job is finished). */
  step: string;
  state: JobStateName;
  /** How many times the current step has been started (a crash counts as a start). */
  attempt: number;
  maxAttempts: number;
  /** Queued: earliest time it may run. Running: mirrors lease.expiresAt (see dueAt). */
  runAt: number;
  lease: Lease | null;
  progress?: Progress;
  lastError?: JobError;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** Kind-specific state, carried from step to step. Shown by the admin API: never put secrets here. */
  data: D;
  dedupeKey?: string;
}

export const PREFIX = {
  job: 'jobs/j/',
  due: 'jobs/due/',
  lease: 'jobs/lease/',
  state: 'jobs/s/',
  dedupe: 'jobs/dedupe/',
  sched: 'jobs/sched/',
} as const;

export const jobPath = (id: string): string => PREFIX.job + id;
export const statePath = (state: JobStateName, id: string): string => `${PREFIX.state}${state}/${id}`;
export const dedupePath = (key: string): string => PREFIX.dedupe + key;

// toISOString is fixed width (24 chars) and sorts like the instant it names for years 0000-9999;
// outside that range it grows a sign and a sixth year digit, which would break the order.
const MIN_TIME = Date.UTC(1970, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const ISO_LENGTH = 24;

export function sortableTime(ms: number): string {
  if (!(Number.isSafeInteger(ms) && ms >= MIN_TIME && ms <= MAX_TIME)) throw new ValidationException(`time out of range: ${ms}`);
  return new Date(ms).toISOString();
}

/**
 * When the job next needs a worker's attention, or null when it never will again. For a running
 * job that is its lease expiry: if the worker dies, a range read of the lease index finds the
 * orphan, with no scan of all running jobs.
 */
export function dueAt(job: Job): number | null {
  if (job.state === JobState.queued) return job.runAt;
  if (job.state === JobState.running) return job.lease ? job.lease.expiresAt : job.runAt;
  return null;
}

/**
 * The job's entry in the due index (queued) or the lease index (running). Two indexes, not one:
 * workers read expired leases first, so an orphaned half-done job (a rotation between its steps)
 * is taken over at once instead of waiting behind a backlog of queued work that is due earlier.
 */
export function duePath(job: Job): string | null {
  const at = dueAt(job);
  if (at === null) return null;
  return `${job.state === JobState.running ? PREFIX.lease : PREFIX.due}${sortableTime(at)}/${job.id}`;
}

/** Splits a due- or lease-index key into its time (ISO) and job id. */
export function parseDuePath(key: string): { at: string; id: string } | null {
  const prefix = key.startsWith(PREFIX.due) ? PREFIX.due : key.startsWith(PREFIX.lease) ? PREFIX.lease : null;
  if (prefix === null) return null;
  const rest = key.slice(prefix.length);
  if (rest.indexOf('/') !== ISO_LENGTH) return null;
  return { at: rest.slice(0, ISO_LENGTH), id: rest.slice(ISO_LENGTH + 1) };
}

const HEX = (b: Buffer) => b.toString('hex');

/**
 * A UUIDv7 (RFC 9562): 48 bits of milliseconds, then random bits. Ids sort by creation time, so
 * listing jobs/j/ or jobs/s/<state>/ pages through jobs oldest first without a separate index.
 */
export function newJobId(nowMs: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = HEX(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const KIND = /^[a-z][a-z0-9._-]{0,63}$/;
const STEP = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
// Dedupe keys become part of a storage key: printable ASCII, bounded so the path stays < 512 bytes.
const DEDUPE = /^[\x21-\x7e]{1,400}$/;

export function checkKind(kind: string): void {
  if (typeof kind !== 'string' || !KIND.test(kind)) throw new ValidationException(`invalid job kind ${JSON.stringify(kind)}: lowercase letters, digits, '.', '_' or '-', starting with a letter, at most 64`);
}

export function checkStep(step: string): void {
  if (typeof step !== 'string' || !STEP.test(step)) throw new ValidationException(`invalid step name ${JSON.stringify(step)}: letters, digits, '.', '_' or '-', starting with a letter, at most 64`);
}

export function checkDedupeKey(key: string): void {
  if (typeof key !== 'string' || !DEDUPE.test(key)) throw new ValidationException('invalid dedupe key: 1 to 400 printable ASCII characters without spaces');
}

export function checkTarget(target: string): void {
  if (typeof target !== 'string' || target.length > 2048) throw new ValidationException('invalid job target: a string of at most 2048 characters');
}

export function isTerminal(job: Job): boolean {
  return TERMINAL_STATES.has(job.state);
}

/** The error as it is recorded: name and message only (no stack), bounded in size. */
export function describeError(e: unknown, step: string, attempt: number, at: number): JobError {
  const err = e as { code?: unknown; name?: unknown; message?: unknown };
  const name = typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' ? err.name : 'Error';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return { name: name.slice(0, 128), message: message.slice(0, 2000), step, attempt, at };
}
