// Enforces the architecture's import rules (STYLE.md, docs/ARCHITECTURE.md):
//  1. only src/crypto/ imports node:crypto (or 'crypto');
//  2. every relative import crosses folders only as ALLOWED says: a table of which top-level
//     folder of src/ may import which. Domain folders never import the adapters (http, cli) or the
//     start-up wiring (server); http never imports cli or server; a folder missing from the table
//     is itself a violation (a new folder states its place). An entry "proxy/ports.ts" allows that
//     file (or folder) of another folder only. Tests (*.test.ts) may also import any domain folder.
// Exits non-zero listing every violation. Also run by test/boundaries.test.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Files directly under src/ (errors.ts, version.ts): shared by everyone. */
const ROOT = '(root)';
const DOMAINS = ['crypto', 'validation', 'storage', 'config', 'audit', 'certs', 'iam', 'jobs', 'quotas', 'proxy', 'kms', 'secrets', 'db', 'rds', 'compliance', 'keyserve', 'rehearse', 'alarms'];

/** Which folders each folder may import (besides itself and ROOT). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  crypto: [],
  // request shapes and compiled validators shared by every AWS-protocol service
  validation: [],
  storage: ['crypto'],
  // configuration validates the sections its components define
  config: ['storage', 'proxy', 'quotas', 'db', 'compliance/settings.ts'],
  audit: ['crypto', 'storage'],
  certs: ['crypto', 'storage'],
  iam: ['crypto', 'validation', 'storage'],
  jobs: ['crypto', 'storage'],
  quotas: ['storage'],
  // the proxy reaches secrets, IAM and certificates through its ports only (src/proxy/ports.ts)
  proxy: ['crypto'],
  kms: ['crypto', 'validation', 'storage', 'iam', 'jobs'],
  // secrets implements the proxy's SecretSource port (src/secrets/proxy-source.ts)
  secrets: ['crypto', 'validation', 'storage', 'iam', 'jobs', 'kms', 'proxy/ports.ts'],
  // databases: the domain services they run on; never the adapters
  db: ['crypto', 'validation', 'storage', 'config', 'audit', 'certs', 'iam', 'jobs', 'quotas', 'proxy', 'kms', 'secrets', 'rds', 'keyserve'],
  rds: ['crypto', 'validation', 'storage', 'config', 'audit', 'certs', 'iam', 'jobs', 'quotas', 'proxy', 'kms', 'secrets', 'db'],
  // Prometheus metrics (docs/METRICS.md): reads the domains' state at scrape; nothing imports it but server
  metrics: [...DOMAINS],
  // compliance rules (docs/COMPLIANCE.md): read-only over the domains' stored state; other facts come through ports
  compliance: ['crypto', 'validation', 'storage', 'audit', 'iam', 'jobs', 'kms', 'secrets'],
  // MariaDB keys for the hashicorp_key_management plugin: data keys under KMS keys, tokens checked with IAM
  keyserve: ['crypto', 'storage', 'audit', 'iam', 'kms'],
  // rekey rehearse: the calendar projected read-only from the stored schedules (docs/OPERATIONS.md)
  rehearse: ['crypto', 'storage', 'jobs', 'certs', 'kms', 'secrets'],
  // alarms (docs/ALARMS.md): audit events observed, durable notify jobs; metrics come through a port
  alarms: ['crypto', 'storage', 'audit', 'jobs'],
  // the adapters
  http: [...DOMAINS],
  server: [...DOMAINS, 'http', 'metrics'],
  cli: [...DOMAINS, 'http', 'server'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The top-level folder of a path relative to src/ ("kms/operations/x.ts" -> "kms"; "errors.ts" -> ROOT). */
function topOf(relPath: string): string {
  const parts = relPath.split('/');
  return parts.length > 1 ? parts[0]! : ROOT;
}

function allowed(from: string, targetRel: string, table: Readonly<Record<string, readonly string[]>>): boolean {
  const to = topOf(targetRel);
  if (to === from || to === ROOT) return true;
  return (table[from] ?? []).some((entry) => (entry.includes('/') ? targetRel === entry || targetRel.startsWith(entry.endsWith('/') ? entry : `${entry}/`) : entry === to));
}

export function findViolations(root: string, table: Readonly<Record<string, readonly string[]>> = ALLOWED): string[] {
  const src = join(root, 'src');
  const bad: string[] = [];
  const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of walk(src)) {
    const rel = relative(src, file).split(sep).join('/');
    const top = topOf(rel);
    if (top !== ROOT && !(top in table)) {
      bad.push(`src/${rel}: folder src/${top}/ is not in the import table (scripts/lint-boundaries.ts ALLOWED)`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? '';
      if ((spec === 'node:crypto' || spec === 'crypto') && top !== 'crypto') bad.push(`src/${rel}: imports ${spec} (only src/crypto/ may)`);
      if (!spec.startsWith('.')) continue;
      const target = relative(src, resolve(dirname(file), spec)).split(sep).join('/');
      if (target.startsWith('..')) continue; // outside src/ (scripts, tests): not architecture
      if (top === ROOT) {
        if (topOf(target) !== ROOT) bad.push(`src/${rel}: a shared root module imports src/${target}`);
        continue;
      }
      // a test may also use any domain folder for its fixtures, but no more adapters than its folder
      const testExtra = rel.endsWith('.test.ts') && DOMAINS.includes(topOf(target));
      if (!testExtra && !allowed(top, target, table)) bad.push(`src/${rel}: src/${top}/ may not import src/${target}`);
    }
  }
  return bad;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bad = findViolations(process.cwd());
  for (const b of bad) process.stderr.write(b + '\n');
  if (bad.length > 0) process.exit(1);
  process.stdout.write('boundaries: ok\n');
}
