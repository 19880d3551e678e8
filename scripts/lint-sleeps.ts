// Finds fixed sleeps of 500 ms or more in test code (issue 21): a test waits for an event or an
// injected clock, never for the wall clock. A polling loop's short interval (< 500 ms) is fine.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const LIMIT_MS = 500;

/** `setTimeout(r, 1100)`, `setTimeout(1100)` (timers/promises), `sleep(6000)`, `delay(1_000)`, `wait(900)`. */
const PATTERNS = [
  /\bsetTimeout\(\s*[A-Za-z_$][\w$]*\s*,\s*([0-9_]+)\s*\)/g,
  /\bsetTimeout\(\s*([0-9_]+)\s*[,)]/g,
  /\b(?:sleep|delay|wait)\(\s*([0-9_]+)\s*\)/g,
];

export interface Sleep { file: string; line: number; ms: number; text: string }

/** Fixed sleeps >= LIMIT_MS in one file's text. */
export function sleepsIn(file: string, text: string): Sleep[] {
  const out: Sleep[] = [];
  text.split('\n').forEach((line, i) => {
    for (const re of PATTERNS) {
      for (const m of line.matchAll(re)) {
        const ms = Number(m[1]!.replaceAll('_', ''));
        if (ms >= LIMIT_MS) out.push({ file, line: i + 1, ms, text: line.trim() });
      }
    }
  });
  return out;
}

function walk(dir: string, keep: (p: string) => boolean, out: string[]): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

/** Every fixed sleep in src/**\/*.test.ts and test/**\/*.ts under root. */
export function findSleeps(root: string): Sleep[] {
  const files = [
    ...walk(join(root, 'src'), (p) => p.endsWith('.test.ts'), []),
    ...walk(join(root, 'test'), (p) => p.endsWith('.ts'), []),
  ].sort();
  return files.flatMap((f) => sleepsIn(relative(root, f), readFileSync(f, 'utf8')));
}
