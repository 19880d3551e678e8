// `rekey jobs ls|show|retry|cancel`: talks to a running server's admin API (/v1/jobs). Thin: parses
// arguments, makes one request per call, prints. The server decides everything.
// Requests are SigV4-signed (credential scope service "iam", like `rekey iam`) with the caller's
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN when they are set.
import { type Command, Option } from 'commander';
import type { JobView } from '../http/admin-jobs.ts';
import type { UpcomingView } from '../http/admin-upcoming.ts';
import { ConfigurationError } from '../errors.ts';
import { adminCall, connection, connectionOptions, DEFAULT_ENDPOINT, type AdminConnection, type ConnectionFlags } from './admin-client.ts';
import { formatOf, outputOption, print, table, withOutput } from './output.ts';

export { table };

export { DEFAULT_ENDPOINT };

export interface JobsClient {
  list(q: { state?: string; kind?: string; limit?: number; nextToken?: string }): Promise<{ jobs: JobView[]; nextToken?: string }>;
  get(id: string): Promise<JobView>;
  retry(id: string): Promise<JobView>;
  cancel(id: string): Promise<JobView>;
  /** GET /v1/jobs/upcoming (src/http/admin-upcoming.ts). */
  upcoming(q: { days?: number; threshold?: number; limit?: number }): Promise<UpcomingView>;
}

export type OpenJobsClient = (conn: AdminConnection) => JobsClient;

/** The HTTP client for /v1/jobs. Server errors come back as the same RekeyError classes. */
export const httpJobsClient: OpenJobsClient = (conn) => {
  const call = <T>(method: 'GET' | 'POST', path: string, query: Record<string, string | number | undefined> = {}): Promise<T> =>
    adminCall<T>(conn, { method, path, query, timeoutMs: 30_000 });
  const one = (id: string) => `/v1/jobs/${encodeURIComponent(id)}`;
  return {
    list: (q) => call('GET', '/v1/jobs', q),
    get: (id) => call('GET', one(id)),
    retry: (id) => call('POST', `${one(id)}/retry`),
    cancel: (id) => call('POST', `${one(id)}/cancel`),
    upcoming: (q) => call('GET', '/v1/jobs/upcoming', q),
  };
};

const COLUMNS: [string, (j: JobView) => string][] = [
  ['ID', (j) => j.id],
  ['KIND', (j) => j.kind],
  // Cut from the left: in an ARN the distinctive part (the key id) is at the end.
  ['TARGET', (j) => (j.target.length > 40 ? `…${j.target.slice(-39)}` : j.target)],
  ['STATE', (j) => j.state],
  ['STEP', (j) => j.step],
  ['ATTEMPT', (j) => `${j.attempt}/${j.maxAttempts}`],
  ['RUN AT', (j) => (j.state === 'queued' || j.state === 'running' ? j.runAt : (j.finishedAt ?? ''))],
];

export function formatTable(jobs: JobView[]): string {
  return table([COLUMNS.map(([h]) => h), ...jobs.map((j) => COLUMNS.map(([, f]) => f(j)))]);
}

const WHAT: Record<UpcomingView['upcoming'][number]['kind'], string> = {
  'kms.rotate': 'key rotation', 'kms.delete': 'key deletion', 'secrets.rotate': 'secret rotation', 'secrets.delete': 'secret deletion',
};

/** `rekey jobs ls --upcoming`: what the schedules will do, in date order, then the budgets nearly used. */
export function formatUpcoming(v: UpcomingView): string {
  const now = Date.parse(v.now);
  const when = (at: string) => {
    const ms = Date.parse(at) - now;
    const days = Math.floor(Math.abs(ms) / 86_400_000);
    return ms <= 0 ? 'due now' : days >= 1 ? `in ${days} day${days === 1 ? '' : 's'}` : `in ${Math.ceil(ms / 3_600_000)} h`;
  };
  let out = `until ${v.until}\n`;
  out += v.upcoming.length
    ? table([['AT', 'WHEN', 'WHAT', 'KIND', 'TARGET'], ...v.upcoming.map((u) => [u.at, when(u.at), WHAT[u.kind], u.kind, u.target])])
    : 'no rotations or deletions due\n';
  if (v.budgets.length) {
    const used = (n: number, max: number | undefined, unit: string) => (max ? `${n}/${max} ${unit}` : '');
    out += `\nusage budgets at least ${Math.round(v.threshold * 100)}% used:\n`;
    out += table([['KEY', 'USED', 'ENCRYPTIONS', 'BYTES'], ...v.budgets.map((b) => [
      b.keyId, `${Math.floor(b.fraction * 100)}%`, used(b.usage.encryptions, b.budget.maxEncryptions, ''), used(b.usage.bytes, b.budget.maxBytes, ''),
    ].map((c) => c.trim()))]);
  } else out += `no usage budget at or over ${Math.round(v.threshold * 100)}%\n`;
  if (v.truncated) out += 'more: raise --limit to see every item\n';
  return out;
}

function formatJob(j: JobView): string {
  const lines = [
    `id:          ${j.id}`, `kind:        ${j.kind}`, `target:      ${j.target}`, `state:       ${j.state}`,
    `step:        ${j.step}`, `attempt:     ${j.attempt} of ${j.maxAttempts}`, `run at:      ${j.runAt}`,
  ];
  if (j.lease) lines.push(`lease:       ${j.lease.owner} until ${j.lease.expiresAt}`);
  if (j.progress) lines.push(`progress:    ${j.progress.done}/${j.progress.total}${j.progress.message ? ` ${j.progress.message}` : ''}`);
  if (j.lastError) lines.push(`last error:  ${j.lastError.name}: ${j.lastError.message} (step ${j.lastError.step}, attempt ${j.lastError.attempt}, ${j.lastError.at})`);
  lines.push(`created:     ${j.createdAt}`, `updated:     ${j.updatedAt}`);
  if (j.finishedAt) lines.push(`finished:    ${j.finishedAt}`);
  if (j.dedupeKey) lines.push(`dedupe key:  ${j.dedupeKey}`);
  lines.push(`data:        ${JSON.stringify(j.data)}`);
  return lines.join('\n') + '\n';
}

export interface JobsCommandIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** Adds `jobs` with its subcommands to `program`. `open` makes the client (the HTTP one by default). */
export function registerJobsCommands(program: Command, open: OpenJobsClient = httpJobsClient, io: JobsCommandIo = { out: (t) => process.stdout.write(t), env: process.env }): Command {
  const jobs = connectionOptions(program
    .command('jobs')
    .description('List and manage durable jobs (rotations, deletions) on a running server'));
  const client = (cmd: Command) => open(connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env));
  const json = (v: unknown) => io.out(JSON.stringify(v, null, 2) + '\n');

  const intOption = (name: string, min: number, max: number) => (v: string) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= min && n <= max)) throw new ConfigurationError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  jobs
    .command('ls')
    .description('List jobs, oldest first; --upcoming: the rotations and deletions the schedules will start, and usage budgets nearly used')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(['queued', 'running', 'succeeded', 'failed', 'cancelled']))
    .option('--kind <kind>', 'only jobs of this kind (e.g. kms.rotate)')
    .option('--limit <n>', 'jobs per page (1-1000); with --upcoming, items per list', intOption('--limit', 1, 1000), 50)
    .option('--next-token <token>', 'continue after the previous page')
    .option('--all', 'follow nextToken until the last page')
    .option('--upcoming', 'automatic key and secret rotations and deletions due soon, and usage budgets close to their limit')
    .option('--days <n>', 'with --upcoming: how far ahead (default 30)', intOption('--days', 0, 3660))
    .option('--threshold <fraction>', 'with --upcoming: budgets used at least this much (0-1, default 0.8)', (v) => {
      const n = Number(v);
      if (!(v.trim() !== '' && n >= 0 && n <= 1)) throw new ConfigurationError('--threshold must be a number from 0 to 1');
      return n;
    })
    .addOption(outputOption())
    .option('--json', 'same as --output json')
    .action(async (o: { state?: string; kind?: string; limit: number; nextToken?: string; all?: boolean; json?: boolean; output: string; upcoming?: boolean; days?: number; threshold?: number }, cmd: Command) => {
      const c = client(cmd);
      const asJson = formatOf(o) === 'json';
      if (o.upcoming) {
        if (o.state || o.kind || o.nextToken || o.all) throw new ConfigurationError('--upcoming lists what is scheduled: it takes --days, --threshold, --limit and --output, not --state, --kind, --next-token or --all');
        const v = await c.upcoming({ ...(o.days !== undefined ? { days: o.days } : {}), ...(o.threshold !== undefined ? { threshold: o.threshold } : {}), ...(cmd.getOptionValueSource('limit') === 'cli' ? { limit: o.limit } : {}) });
        return asJson ? json(v) : io.out(formatUpcoming(v));
      }
      if (o.days !== undefined || o.threshold !== undefined) throw new ConfigurationError('--days and --threshold go with --upcoming');
      const all: JobView[] = [];
      let nextToken = o.nextToken;
      do {
        const page = await c.list({ ...(o.state ? { state: o.state } : {}), ...(o.kind ? { kind: o.kind } : {}), limit: o.limit, ...(nextToken ? { nextToken } : {}) });
        all.push(...page.jobs);
        nextToken = page.nextToken;
      } while (o.all && nextToken);
      if (asJson) return json({ jobs: all, ...(nextToken ? { nextToken } : {}) });
      io.out(all.length ? formatTable(all) : 'no jobs\n');
      if (nextToken) io.out(`more: rekey jobs ls --next-token ${nextToken}\n`);
    });

  jobs
    .command('show <id>')
    .description('Show one job: state, step, lease, progress, last error, data')
    .addOption(outputOption())
    .option('--json', 'same as --output json')
    .action(async (id: string, o: { json?: boolean; output: string }, cmd: Command) => {
      const j = await client(cmd).get(id);
      print(io.out, formatOf(o), j, () => formatJob(j));
    });

  withOutput(jobs
    .command('retry <id>')
    .description('Resume a failed or cancelled job at the step where it stopped, or run a waiting job now'))
    .action(async (id: string, o: { output: string }, cmd: Command) => {
      const j = await client(cmd).retry(id);
      print(io.out, formatOf(o), j, () => `job ${j.id}: ${j.state} at step ${j.step}\n`);
    });

  withOutput(jobs
    .command('cancel <id>')
    .description('Cancel a queued or running job (a running job stops before its next step)'))
    .action(async (id: string, o: { output: string }, cmd: Command) => {
      const j = await client(cmd).cancel(id);
      print(io.out, formatOf(o), j, () => `job ${j.id}: ${j.state} at step ${j.step}\n`);
    });
  return jobs;
}
