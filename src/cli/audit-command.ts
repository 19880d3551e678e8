// `rekey audit ...`: verify the trail, look events up, export the digest public key.
// Thin: parses flags, opens the store through the caller's `open`, prints what the domain returns.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ValidationException } from '../errors.ts';
import type { Barrier } from '../storage/barrier.ts';
import { type AuditDigest, type AuditPublicKey, DigestSigner, loadDigests, parsePublicKeyPem, readPublicKey } from '../audit/digest.ts';
import { lookupEvents } from '../audit/lookup.ts';
import { DIGESTS_PREFIX } from '../audit/paths.ts';
import { StoreSink } from '../audit/sinks/store.ts';
import { verifyFiles } from '../audit/verify-file.ts';
import { verifyStore } from '../audit/verify-store.ts';
import { recordVerification } from '../audit/verifications.ts';
import { type VerifyResult, summarize } from '../audit/verify.ts';
import { type AuditCheckpoint, isCheckpoint, takeCheckpoint, verifyAgainstCheckpoint } from '../audit/checkpoint.ts';
import type { AuditRecord, ChainHead } from '../audit/chain.ts';
import { formatOf, outputOption, print, table, withOutput } from './output.ts';

/** Which store to open: the global configuration, overridden by these flags. */
export interface StoreFlags {
  dataDir?: string;
  config?: string;
}

export interface AuditCliContext {
  barrier: Barrier;
  close?: () => Promise<void>;
}

/** Where output goes and how failure is signalled; replaceable for tests. */
export interface AuditCliIo {
  out: { write(s: string): unknown };
  /** Progress lines of long runs (default: standard error when it is a terminal, else nowhere). */
  progress?: (line: string) => void;
  /** At most one progress line per this many ms (default 1000). */
  progressEveryMs?: number;
  /** Called when verification fails (default: process.exitCode = 1). */
  fail: () => void;
}

const defaultIo: AuditCliIo = {
  out: process.stdout,
  progress: (line) => { if (process.stderr.isTTY) process.stderr.write(line); },
  fail: () => {
    process.exitCode = 1;
  },
};

export function parseTime(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ValidationException(`--${name}: not a valid time: ${JSON.stringify(v.slice(0, 64))} (use ISO 8601, e.g. 2024-05-01T00:00:00Z)`);
  return d;
}

async function withStore<T>(open: (flags: StoreFlags) => Promise<AuditCliContext>, flags: StoreFlags, fn: (ctx: AuditCliContext) => Promise<T>): Promise<T> {
  const ctx = await open(flags);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close?.();
  }
}

async function storedKey(barrier: Barrier): Promise<AuditPublicKey> {
  const k = await readPublicKey(barrier);
  if (!k) throw new ValidationException('This store has no audit signing key yet (it is created when the server first starts with auditing).');
  return k;
}

async function allStoredDigests(barrier: Barrier): Promise<AuditDigest[]> {
  const nodes = new Set((await barrier.list(DIGESTS_PREFIX)).map((k) => k.slice(DIGESTS_PREFIX.length).split('/')[0]!));
  const out: AuditDigest[] = [];
  for (const node of nodes) for (const d of await loadDigests(barrier, node)) if (d.digest) out.push(d.digest);
  return out;
}

function readPinnedKey(path: string): AuditPublicKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch {
    throw new ValidationException(`--public-key: cannot read ${path}`);
  }
  try {
    return parsePublicKeyPem(pem);
  } catch {
    throw new ValidationException(`--public-key: ${path} is not an Ed25519 public key in PEM form`);
  }
}

function readCheckpoint(path: string): AuditCheckpoint {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ValidationException(`--checkpoint: cannot read ${path} as JSON`);
  }
  if (!isCheckpoint(v)) throw new ValidationException(`--checkpoint: ${path} is not a rekey audit checkpoint`);
  return v;
}

/** The store's chain heads, when the store sink is (also) configured. */
async function storedHeads(barrier: Barrier): Promise<Record<string, ChainHead>> {
  const store = new StoreSink(barrier);
  const out: Record<string, ChainHead> = {};
  for (const node of await store.nodes()) {
    const h = await store.storedHead(node).catch(() => null);
    if (h) out[node] = h;
  }
  return out;
}

/** Human summary of a verification; the first problem first. */
export function formatVerifyResult(r: VerifyResult): string {
  const lines: string[] = [];
  for (const n of r.nodes) {
    lines.push(`node ${n.node}: seqs ${n.fromSeq}..${n.toSeq} (${n.events} events, ${n.digests} digests, from ${n.startedFrom})`);
  }
  if (r.ok) {
    lines.push('audit verify: OK');
  } else {
    lines.push(`audit verify: FAILED (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})`);
    for (const p of r.problems.slice(0, 20)) {
      lines.push(`  ${p.kind}: node ${p.node}${p.seq !== undefined ? ` seq ${p.seq}` : ''}${p.eventID ? ` eventID ${p.eventID}` : ''}: ${p.message}`);
    }
    if (r.problems.length > 20) lines.push(`  ... and ${r.problems.length - 20} more (use --json)`);
  }
  return lines.join('\n') + '\n';
}

/** `rekey audit lookup` for people: one line per event, newest first (--output json: the records in full). */
export function formatLookup(events: readonly AuditRecord[], nextToken?: string): string {
  if (events.length === 0) return 'no events\n';
  const who = (e: AuditRecord['event']) => e.userIdentity.arn ?? e.userIdentity.accessKeyId ?? e.userIdentity.type ?? '-';
  return table([['TIME', 'NODE', 'SEQ', 'SOURCE', 'EVENT', 'PRINCIPAL', 'RESOURCE', 'ERROR'], ...events.map((r) => [
    r.event.eventTime, r.node, String(r.seq), r.event.eventSource, r.event.eventName, who(r.event), r.event.resources[0]?.ARN ?? '-', r.event.errorCode ?? '',
  ])]) + (nextToken ? `more: --next-token ${nextToken}\n` : '');
}

/** A verify progress reporter printing at most one line per `ms` ("node-1: 12,000 of ~50,000 events read"). */
function progressEvery(io: AuditCliIo, ms: number): ((p: { node: string; events: number; of: number }) => void) | undefined {
  if (!io.progress) return undefined;
  let last = Date.now();
  return (p) => {
    const now = Date.now();
    if (now - last < ms && p.events < p.of) return;
    last = now;
    io.progress!(`${p.node}: ${p.events.toLocaleString('en-US')} of ~${p.of.toLocaleString('en-US')} events read\n`);
  };
}

export const storeOptions = (c: Command): Command => c
  .option('-d, --data-dir <dir>', 'the data directory of the store to read (env REKEY_DATA_DIR); never created')
  .option('-c, --config <file>', 'JSON configuration file naming the store and its root key (env REKEY_CONFIG)');

export const flagsOf = (o: StoreFlags): StoreFlags => ({ ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}), ...(o.config !== undefined ? { config: o.config } : {}) });

export function registerAuditCommands(program: Command, open: (flags: StoreFlags) => Promise<AuditCliContext>, io: AuditCliIo = defaultIo): void {
  const { out } = io;
  const audit = program.command('audit').description('Verify, search and export the audit trail');

  storeOptions(audit
    .command('verify'))
    .description('Check hash chains and signed digests; names the first modified, missing, reordered or truncated event. Exits 1 on failure.')
    .option('--from <time>', 'start of the time range (ISO 8601)')
    .option('--to <time>', 'end of the time range (ISO 8601)')
    .option('--node <name>', 'only this node')
    .option('--file <path>', 'verify a JSON-lines file set (the current file; rolled files beside it are included)')
    .option('--public-key <pem-file>', 'trusted Ed25519 public key (default: the one in the store)')
    .option('--checkpoint <file>', 'a checkpoint taken earlier (`rekey audit checkpoint`) and kept outside the store: reports what the store no longer has')
    .addOption(outputOption())
    .option('--json', 'same as --output json')
    .action(async (o: StoreFlags & { from?: string; to?: string; node?: string; file?: string; publicKey?: string; checkpoint?: string; json?: boolean; output: string }) => {
      const from = parseTime('from', o.from);
      const to = parseTime('to', o.to);
      const pinned = o.publicKey !== undefined ? readPinnedKey(o.publicKey) : undefined;
      const range = { ...(from ? { from } : {}), ...(to ? { to } : {}), ...(o.node ? { node: o.node } : {}) };
      const checkpoint = o.checkpoint !== undefined ? readCheckpoint(o.checkpoint) : undefined;
      if (checkpoint && o.file !== undefined) throw new ValidationException('--checkpoint checks the store; give it without --file');
      let result: VerifyResult;
      if (o.file !== undefined && pinned) {
        // A file and a pinned key need no store at all (e.g. verifying a copy on another machine).
        result = await verifyFiles({ path: o.file, publicKey: pinned, ...range });
      } else {
        result = await withStore(open, flagsOf(o), async ({ barrier }) => {
          const publicKey = pinned ?? (await storedKey(barrier));
          if (o.file !== undefined) return verifyFiles({ path: o.file, publicKey, digests: await allStoredDigests(barrier), heads: await storedHeads(barrier), ...range });
          const store = new StoreSink(barrier);
          const onProgress = progressEvery(io, io.progressEveryMs ?? 1000);
          const r0 = await verifyStore({ store, publicKey, ...range, ...(onProgress ? { onProgress } : {}) });
          const r = checkpoint ? summarize(r0.nodes, [...r0.problems, ...(await verifyAgainstCheckpoint(store, checkpoint, publicKey))]) : r0;
          // a whole-store run is recorded (times and counts only) for the compliance rule audit-not-verified
          if (!from && !to && !o.node) {
            await recordVerification(barrier, {
              at: new Date().toISOString(), ok: r.ok, problems: r.problems.length, nodes: r.nodes.length,
              events: r.nodes.reduce((n, x) => n + x.events, 0), pinnedKey: pinned !== undefined,
            });
          }
          return r;
        });
      }
      print((t) => out.write(t), formatOf(o), result, () => formatVerifyResult(result));
      if (!result.ok) io.fail();
    });

  withOutput(storeOptions(audit
    .command('lookup')))
    .description('Search stored events, newest first (filters like CloudTrail LookupEvents)')
    .option('--event-name <name>', 'e.g. Decrypt, CreateKey')
    .option('--principal <arn-or-access-key-id>', 'who called')
    .option('--resource <key-arn-or-id>', 'which key or secret')
    .option('--from <time>', 'start time (ISO 8601)')
    .option('--to <time>', 'end time (ISO 8601)')
    .option('--max <n>', 'at most this many events (1-1000, default 50)')
    .option('--next-token <token>', 'continue a previous lookup')
    .action(async (o: StoreFlags & { eventName?: string; principal?: string; resource?: string; from?: string; to?: string; max?: string; nextToken?: string; output: string }) => {
      const startTime = parseTime('from', o.from);
      const endTime = parseTime('to', o.to);
      if (o.max !== undefined && !/^\d{1,4}$/.test(o.max)) throw new ValidationException('--max must be a number from 1 to 1000');
      const result = await withStore(open, flagsOf(o), ({ barrier }) => lookupEvents(new StoreSink(barrier), {
        ...(o.eventName !== undefined ? { eventName: o.eventName } : {}),
        ...(o.principal !== undefined ? { principal: o.principal } : {}),
        ...(o.resource !== undefined ? { resource: o.resource } : {}),
        ...(startTime ? { startTime } : {}),
        ...(endTime ? { endTime } : {}),
        ...(o.max !== undefined ? { maxResults: Number(o.max) } : {}),
        ...(o.nextToken !== undefined ? { nextToken: o.nextToken } : {}),
      }));
      print((t) => out.write(t), formatOf(o), result, () => formatLookup(result.events, result.nextToken));
    });

  storeOptions(audit
    .command('checkpoint'))
    .description('Sign how far every node\'s chain goes (head and last digest) for keeping OUTSIDE the store; verify --checkpoint then finds deleted or rolled-back events, heads and digests. Refused if the store does not verify.')
    .option('--out <file>', 'write the checkpoint here (default: stdout)')
    .action(async (o: StoreFlags & { out?: string }) => {
      const cp = await withStore(open, flagsOf(o), async ({ barrier }) => {
        const store = new StoreSink(barrier);
        await storedKey(barrier); // a store without an audit key has nothing to checkpoint (and gets no key here)
        const signer = await DigestSigner.loadOrCreate(barrier);
        const r = await verifyStore({ store, publicKey: signer.publicKey });
        if (!r.ok) {
          out.write(formatVerifyResult(r));
          return null;
        }
        return takeCheckpoint(store, signer);
      });
      if (!cp) {
        io.fail();
        return;
      }
      const text = JSON.stringify(cp, null, 2) + '\n';
      if (o.out !== undefined) writeFileSync(o.out, text, { mode: 0o644 });
      else out.write(text);
    });

  storeOptions(audit
    .command('public-key'))
    .description('Print the Ed25519 public key (PEM) that verifies audit digests; keep a copy outside rekey')
    .action(async (o: StoreFlags) => {
      const key = await withStore(open, flagsOf(o), ({ barrier }) => storedKey(barrier));
      out.write(key.pem.endsWith('\n') ? key.pem : key.pem + '\n');
    });
}
