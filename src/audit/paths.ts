// Storage layout of the audit trail (every value goes through the barrier, so each is encrypted and
// bound to its path: a value copied to another path fails to decrypt).
//
//   audit/signing-key                      Ed25519 private key (PKCS#8) + public key PEM
//   audit/events/<node>/<lastSeq:16>       one group-commit batch: its records as JSON lines, in seq
//                                          order, keyed by the LAST seq so that listing after
//                                          <seq - 1> starts at the batch holding <seq>
//   audit/head/<node>                      {seq, hash} of the last stored record (CAS-updated per batch)
//   audit/index/<inv-ms:13>/<node>/<inv-lastSeq:16>
//                                          time index for lookups, one entry per batch, keyed by the
//                                          batch's OLDEST event time (value: 1)
//   audit/digests/<node>/<toSeq:16>        signed digests
//   audit/anchor/<node>                    the digest at which retention cut the chain
//
// One storage value per batch (not per event) is what makes group commit pay off: a batch of 500
// events costs one encryption and one row, not a thousand. Times in the index are inverted
// (MAX - epoch ms) because the backend lists in ascending order only and lookups go newest first.

export const SIGNING_KEY_PATH = 'audit/signing-key';
export const EVENTS_PREFIX = 'audit/events/';
export const HEAD_PREFIX = 'audit/head/';
export const INDEX_PREFIX = 'audit/index/';
export const DIGESTS_PREFIX = 'audit/digests/';
export const ANCHOR_PREFIX = 'audit/anchor/';

const MAX_MS = 9_999_999_999_999; // year 2286
const MAX_SEQ = 999_999_999_999_999; // below 2^53, so the arithmetic stays exact

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function eventPath(node: string, seq: number): string {
  return `${EVENTS_PREFIX}${node}/${pad(seq, 16)}`;
}

export function eventsPrefix(node: string): string {
  return `${EVENTS_PREFIX}${node}/`;
}

export function headPath(node: string): string {
  return HEAD_PREFIX + node;
}

export function anchorPath(node: string): string {
  return ANCHOR_PREFIX + node;
}

export function digestPath(node: string, toSeq: number): string {
  return `${DIGESTS_PREFIX}${node}/${pad(toSeq, 16)}`;
}

export function digestsPrefix(node: string): string {
  return `${DIGESTS_PREFIX}${node}/`;
}

export function invertedMs(ms: number): string {
  return pad(MAX_MS - Math.max(0, Math.min(MAX_MS, Math.floor(ms))), 13);
}

export function indexPath(oldestMs: number, node: string, lastSeq: number): string {
  return `${INDEX_PREFIX}${invertedMs(oldestMs)}/${node}/${pad(MAX_SEQ - lastSeq, 16)}`;
}

/** Parses an index key back into its parts (seq: the batch's last seq), or null when it is not one. */
export function parseIndexPath(key: string): { ms: number; node: string; seq: number } | null {
  const m = /^audit\/index\/(\d{13})\/([^/]+)\/(\d{16})$/.exec(key);
  if (!m) return null;
  return { ms: MAX_MS - Number(m[1]), node: m[2]!, seq: MAX_SEQ - Number(m[3]) };
}

/** The seq at the end of an events or digests key. */
export function seqOfPath(key: string): number {
  return Number(key.slice(key.lastIndexOf('/') + 1));
}
