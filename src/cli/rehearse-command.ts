// `rekey rehearse --until <date>` (docs/OPERATIONS.md "Rehearsal"): the calendar of what rekey will
// do by itself until a date, projected from the store (src/rehearse) and printed; nothing changes.
// Reads the store directly, like `rekey audit verify`, so it works with the server stopped.
import { type Command, Option } from 'commander';
import { ValidationException } from '../errors.ts';
import type { Barrier } from '../storage/barrier.ts';
import { readOnly, rehearse, type Rehearsal, type RehearseOptions } from '../rehearse/rehearse.ts';
import { flagsOf, parseTime, storeOptions, type StoreFlags } from './audit-command.ts';
import { table } from './jobs-command.ts';

export interface RehearseContext {
  barrier: Barrier;
  /** The configuration's TLS settings (certificates are projected in generated mode only). */
  tls: Pick<RehearseOptions, 'tlsMode' | 'certLifetimeSeconds' | 'caLifetimeSeconds'>;
  close(): Promise<void>;
}

export interface RehearseIo {
  out(text: string): void;
  now(): Date;
}

const defaultIo: RehearseIo = { out: (t) => process.stdout.write(t), now: () => new Date() };

export function formatRehearsal(r: Rehearsal): string {
  const lines = [`rehearsal from ${r.from} until ${r.until}: nothing was changed`];
  const kinds = Object.entries(r.counts);
  lines.push(kinds.length ? kinds.map(([k, n]) => `${n} ${k}`).join(', ') : 'nothing scheduled');
  let out = lines.join('\n') + '\n\n';
  if (r.events.length) out += table([['AT', 'WHAT', 'SUBJECT', 'DETAIL'], ...r.events.map((e) => [e.at, e.kind, e.subject, e.detail])]);
  if (r.truncated) out += `... ${Object.values(r.counts).reduce((a, b) => a + (b ?? 0), 0) - r.events.length} more (raise --limit, or --output json)\n`;
  out += `\nnot projected:\n${r.notProjected.map((n) => `  - ${n}`).join('\n')}\n`;
  return out;
}

export function registerRehearseCommand(program: Command, open: (flags: StoreFlags) => Promise<RehearseContext>, io: RehearseIo = defaultIo): void {
  storeOptions(program.command('rehearse'))
    .description('Project what rekey will do by itself until a date (rotations, budget rotations, deletions, secret rotations, certificate and CA rotations) without changing anything')
    .requiredOption('--until <date>', 'end of the rehearsal (ISO 8601, e.g. 2036-12-31T00:00:00Z)')
    .option('--limit <n>', 'most events listed (counts cover all)', '10000')
    .addOption(new Option('--output <format>', 'table (for people) or json (for scripts)').choices(['table', 'json']).default('table'))
    .action(async (o: StoreFlags & { until: string; limit: string; output: 'table' | 'json' }) => {
      const until = parseTime('until', o.until)!;
      const now = io.now();
      if (until.getTime() <= now.getTime()) throw new ValidationException(`--until must be after now (${now.toISOString()})`);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new ValidationException('--limit must be an integer from 1 to 1000000');
      const ctx = await open(flagsOf(o));
      try {
        const r = await rehearse(readOnly(ctx.barrier), { now, until, limit, ...ctx.tls });
        io.out(o.output === 'json' ? JSON.stringify(r, null, 2) + '\n' : formatRehearsal(r));
      } finally {
        await ctx.close();
      }
    });
}
