// Audit checkpoints: the outside trust anchor for the stored trail.
//
// Everything in the store can be deleted, or rolled back to an older copy, by whoever administers
// the storage (no root key needed): the newest events together with their head record and digest,
// or a whole node. Nothing left in the store can show what is no longer there. A checkpoint is a
// signed statement of how far each node's chain went - its head (seq, hash) and its last digest -
// that the operator keeps OUTSIDE the store (`rekey audit checkpoint > cp.json`, from cron, into
// another system). `rekey audit verify --checkpoint cp.json --public-key audit.pem` then reports
// every node, event or digest the checkpoint names that the store no longer has, or has changed.
//
// Signed with the audit signing key (Ed25519, the digests' key), so a checkpoint can travel
// through untrusted places; verify it with the public key exported earlier and kept apart.
// Retention (audit prune) may legitimately delete what a checkpoint names: seqs at or below the
// node's retention anchor are not reported.
import { canonicalJson } from './canonical.ts';
import { type AuditPublicKey, type DigestCheck, type DigestSigner, checkPayloadSignature, isDigest, lastDigest } from './digest.ts';
import { digestPath } from './paths.ts';
import { readAnchor } from './retention.ts';
import type { StoreSink } from './sinks/store.ts';
import type { Problem } from './verify.ts';

export interface CheckpointNode {
  /** The node's chain head when the checkpoint was taken. */
  seq: number;
  hash: string;
  /** The node's newest digest then, or null. */
  lastDigest: { toSeq: number; signature: string } | null;
}

export interface AuditCheckpoint {
  version: 1;
  kind: 'rekey-audit-checkpoint';
  createdAt: string;
  nodes: Record<string, CheckpointNode>;
  publicKeyFingerprint: string;
  signature: string;
}

const DOMAIN = 'rekey-audit-checkpoint-v1\n';

export function checkpointPayload(c: Omit<AuditCheckpoint, 'signature'>): string {
  return DOMAIN + canonicalJson({ version: c.version, kind: c.kind, createdAt: c.createdAt, nodes: c.nodes, publicKeyFingerprint: c.publicKeyFingerprint });
}

/** Signs the store's current heads and last digests. Take it only from a store that verifies. */
export async function takeCheckpoint(store: StoreSink, signer: DigestSigner, now: Date = new Date()): Promise<AuditCheckpoint> {
  const nodes: Record<string, CheckpointNode> = {};
  for (const node of await store.nodes()) {
    const head = await store.storedHead(node);
    if (!head) continue;
    const d = await lastDigest(store.barrier, node);
    nodes[node] = { seq: head.seq, hash: head.hash, lastDigest: d ? { toSeq: d.toSeq, signature: d.signature } : null };
  }
  const body = { version: 1 as const, kind: 'rekey-audit-checkpoint' as const, createdAt: now.toISOString(), nodes, publicKeyFingerprint: signer.publicKey.fingerprint };
  return { ...body, signature: signer.signPayload(checkpointPayload(body)) };
}

export function isCheckpoint(v: unknown): v is AuditCheckpoint {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  if (c.version !== 1 || c.kind !== 'rekey-audit-checkpoint' || typeof c.createdAt !== 'string' || typeof c.signature !== 'string' || typeof c.publicKeyFingerprint !== 'string') return false;
  if (typeof c.nodes !== 'object' || c.nodes === null || Array.isArray(c.nodes)) return false;
  return Object.values(c.nodes as Record<string, unknown>).every((n) => {
    const x = n as Partial<CheckpointNode> | null;
    return x !== null && typeof x === 'object' && Number.isSafeInteger(x.seq) && typeof x.hash === 'string'
      && (x.lastDigest === null || (typeof x.lastDigest === 'object' && Number.isSafeInteger(x.lastDigest?.toSeq) && typeof x.lastDigest?.signature === 'string'));
  });
}

export function checkCheckpointSignature(c: AuditCheckpoint, key: AuditPublicKey): DigestCheck {
  return checkPayloadSignature(checkpointPayload(c), c.signature, c.publicKeyFingerprint, key);
}

/** What the store lacks or has changed compared with a checkpoint taken earlier. */
export async function verifyAgainstCheckpoint(store: StoreSink, c: AuditCheckpoint, key: AuditPublicKey): Promise<Problem[]> {
  const sig = checkCheckpointSignature(c, key);
  if (sig !== 'ok') return [{ kind: 'forged-digest', node: '-', where: 'checkpoint', message: `the checkpoint of ${c.createdAt} is not signed by the trusted key (${sig})` }];
  const problems: Problem[] = [];
  for (const [node, n] of Object.entries(c.nodes)) {
    const anchor = await readAnchor(store, node).catch(() => null);
    const pruned = (seq: number) => anchor !== null && seq <= anchor.toSeq;
    if (n.seq > 0 && !pruned(n.seq)) {
      const batch = (await store.readBatches(node, n.seq, n.seq, 1))[0];
      const record = batch?.records?.find((r) => r?.seq === n.seq) ?? null;
      if (!batch || batch.records === null || !record) {
        problems.push({ kind: 'truncated', node, seq: n.seq, where: 'checkpoint', message: `seq ${n.seq}, the chain head in the checkpoint of ${c.createdAt}, is no longer in the store: events were deleted or rolled back` });
      } else if (record.hash !== n.hash) {
        problems.push({ kind: 'modified', node, seq: n.seq, eventID: String(record.event.eventID), where: 'checkpoint', message: `seq ${n.seq} has another hash than the checkpoint of ${c.createdAt} names: the chain was rewritten` });
      }
    }
    const d = n.lastDigest;
    if (d && !(anchor !== null && d.toSeq < anchor.toSeq)) {
      const got = await store.barrier.getJSON<unknown>(digestPath(node, d.toSeq)).catch(() => null);
      const stored = got && isDigest(got.value) ? got.value : null;
      if (!stored) {
        problems.push({ kind: 'missing-digest', node, seq: d.toSeq, where: digestPath(node, d.toSeq), message: `the digest ending at seq ${d.toSeq} named by the checkpoint of ${c.createdAt} is gone` });
      } else if (stored.signature !== d.signature) {
        problems.push({ kind: 'forged-digest', node, seq: d.toSeq, where: digestPath(node, d.toSeq), message: `the digest ending at seq ${d.toSeq} is not the one the checkpoint of ${c.createdAt} names: it was replaced` });
      }
    }
  }
  return problems;
}
