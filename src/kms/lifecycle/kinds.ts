// Retry policy and step timeout of the KMS job kinds. A rotation or deletion step is a few storage
// reads and one transaction: a minute is generous, and a failure (storage down, a CAS conflict with
// a concurrent change of the key) is retried after 5 s, 10 s, 20 s ... up to 1 h between attempts.
import type { KindOptions } from '../../jobs/kinds.ts';

export const ROTATE_KIND_OPTIONS: KindOptions = Object.freeze({ backoff: { baseMs: 5_000, maxMs: 3_600_000 }, stepTimeoutMs: 60_000 });
export const DELETE_KIND_OPTIONS: KindOptions = Object.freeze({ backoff: { baseMs: 5_000, maxMs: 3_600_000 }, stepTimeoutMs: 60_000 });
