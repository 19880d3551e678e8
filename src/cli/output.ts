// `--output table|json` for every `rekey` command (issue 18, item 6): tables for people by default,
// the server's JSON answer for scripts. Commands with their own text (jobs, alarms, certs, ...) pass
// it to print(); the rest (iam, kms, secrets, keyserve, ...) print the answer as a table made here
// from its shape. The table code is ours: no table library is a dependency, and aligned columns
// of plain strings need nothing more.
import { Option, type Command } from 'commander';

export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The option itself: `--output <format>`, table or json, default table. */
export function outputOption(): Option {
  return new Option('--output <format>', 'table (for people) or json (for scripts)').choices([...OUTPUT_FORMATS]).default('table');
}

/**
 * The commands without --output table|json: each prints a document in the format it is used in
 * (docs/CLI.md lists them). `compliance report` has --output json|html, its document's two forms.
 */
export const WITHOUT_OUTPUT: Readonly<Record<string, string>> = {
  server: 'runs the server; its log lines are JSON already',
  'iam key-policy': 'prints a key policy document (JSON), to save or pass to aws kms create-key',
  'audit checkpoint': 'prints a signed checkpoint (JSON) to keep outside the store',
  'audit public-key': 'prints the audit public key (PEM)',
  'db mariadb-config': 'prints the [mariadb] block of a MariaDB configuration file',
};

/** Adds --output table|json to a command (where a command also has --json, that means --output json). */
export function withOutput(cmd: Command): Command {
  return cmd.addOption(outputOption());
}

/** The format a command was asked for: its --output, or --json (the older flag) meaning json. */
export function formatOf(o: { output?: string; json?: unknown }): OutputFormat {
  return o.json === true || o.output === 'json' ? 'json' : 'table';
}

/** Aligned columns, two spaces apart; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One cell: scalars as they are, anything nested as compact JSON. */
function cell(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v.replace(/\s*\n\s*/g, ' ');
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The header of a column: AccessKeyId -> ACCESS KEY ID, createdAt -> CREATED AT. */
function header(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').replace(/[_-]+/g, ' ').toUpperCase();
}

/** A list of objects as a table, one column per member (in first-seen order). */
function listTable(items: readonly unknown[]): string {
  if (items.length === 0) return '(none)\n';
  if (!items.every(isRecord)) return items.map(cell).join('\n') + '\n';
  const keys: string[] = [];
  for (const it of items) for (const k of Object.keys(it)) if (!keys.includes(k)) keys.push(k);
  return table([keys.map(header), ...items.map((it) => keys.map((k) => cell(it[k])))]);
}

/**
 * A JSON answer for people: a list is a table; an object's scalar members are `name  value` lines,
 * each list in it a titled table, each nested object an indented block. Values print as they are:
 * a secret the server shows once (an access key's secret, a token) stays readable.
 */
export function renderTable(value: unknown, indent = ''): string {
  if (Array.isArray(value)) return listTable(value).replace(/^/gm, indent);
  if (!isRecord(value)) return `${indent}${cell(value)}\n`;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return ''; // an answer with nothing in it (a deletion): nothing to show
  const scalars = entries.filter(([, v]) => !Array.isArray(v) && !isRecord(v));
  const width = Math.max(0, ...scalars.map(([k]) => header(k).length));
  let out = scalars.map(([k, v]) => `${indent}${header(k).padEnd(width)}  ${cell(v)}\n`).join('');
  for (const [k, v] of entries) {
    if (Array.isArray(v)) out += `${out ? '\n' : ''}${indent}${header(k)}\n${listTable(v).replace(/^(?=.)/gm, `${indent}  `)}`;
    else if (isRecord(v)) out += `${out ? '\n' : ''}${indent}${header(k)}\n${renderTable(v, `${indent}  `)}`;
  }
  return out;
}

/** Prints an answer in the format asked for: JSON as the server sent it, or `text` (default: renderTable). */
export function print(write: (text: string) => unknown, format: OutputFormat, value: unknown, text: () => string = () => renderTable(value)): void {
  write(format === 'json' ? JSON.stringify(value, null, 2) + '\n' : text());
}
