// Enforces the architecture's import rules (STYLE.md):
//  1. only src/crypto/ imports node:crypto (or 'crypto');
//  2. domain folders never import the adapters (src/http, src/cli).
// Exits non-zero listing every violation. Also run by test/boundaries.test.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const DOMAIN = ['crypto', 'storage', 'kms', 'iam', 'secrets', 'jobs', 'audit', 'proxy', 'certs', 'quotas', 'rds'];

function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function findViolations(root: string): string[] {
  const src = join(root, 'src');
  const bad: string[] = [];
  const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of walk(src)) {
    const rel = relative(src, file).split(sep).join('/');
    const top = rel.split('/')[0]!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? '';
      if ((spec === 'node:crypto' || spec === 'crypto') && top !== 'crypto') bad.push(`src/${rel}: imports ${spec} (only src/crypto/ may)`);
      if (DOMAIN.includes(top) && /(^|\/)(http|cli)\//.test(spec) && spec.startsWith('.')) bad.push(`src/${rel}: domain module imports adapter ${spec}`);
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
