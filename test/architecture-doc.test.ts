// docs/ARCHITECTURE.md is how a newcomer finds where a rule lives ("one guess"): every src/ path it
// names must exist, and every Class.method of its "Request pipeline" section must be a method of
// that class or interface in src/ — so the map fails a test when the code moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const doc = readFileSync('docs/ARCHITECTURE.md', 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('every src/ path docs/ARCHITECTURE.md names exists', () => {
  const paths = [...new Set([...doc.matchAll(/\bsrc\/[\w./-]*[\w/]/g)].map((m) => m[0]))];
  assert.ok(paths.length > 40, `paths found: ${paths.length}`);
  assert.deepEqual(paths.filter((p) => !existsSync(p.replace(/\/$/, ''))), []);
});

test('every Class.method of the "Request pipeline" section is one in src/', () => {
  const section = doc.slice(doc.indexOf('## Request pipeline'), doc.indexOf('\n## ', doc.indexOf('## Request pipeline') + 5));
  const code = sources('src').filter((f) => !f.endsWith('.test.ts')).map((f) => readFileSync(f, 'utf8'));
  const named = [...new Set([...section.matchAll(/\b([A-Z][A-Za-z]+)\.([a-z][A-Za-z]+)\b(?!\.)/g)].filter((m) => !['md', 'ts', 'json'].includes(m[2]!)).map((m) => `${m[1]}.${m[2]}`))];
  assert.ok(named.length >= 10, `names found: ${named.join(', ')}`);
  const missing = named.filter((n) => {
    const [type, member] = n.split('.') as [string, string];
    return !code.some((c) => new RegExp(`(class|interface) ${type}\\b`).test(c) && new RegExp(`\\b${member}\\??[(:]|\\b${member} =|readonly ${member}\\b`).test(c));
  });
  assert.deepEqual(missing, []);
});
