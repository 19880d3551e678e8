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

/**
 * Computed delays: `setTimeout(r, Math.max(0, 3000 - elapsed))`, `sleep(rand(lease + 200, lease + 800))`,
 * `delay(SECONDS * 1000)`. The delay expression (up to its closing parenthesis) is flagged when it
 * holds a number literal >= LIMIT_MS: a wait for "what is left of 3 s" is still a wait on the clock.
 */
const COMPUTED = [/\bsetTimeout\(\s*[A-Za-z_$][\w$]*\s*,\s*/g, /\b(?:sleep|delay|wait)\(\s*(?=[^\s\d)])/g];

export interface Sleep { file: string; line: number; ms: number; text: string }

/** The text of a call's argument from `start` to the parenthesis that closes the call (or the line's end). */
function argument(line: string, start: number): string {
  let depth = 0;
  for (let i = start; i < line.length; i++) {
    const c = line[i];
    if (c === '(') depth++;
    else if (c === ')' && depth-- === 0) return line.slice(start, i);
    else if (c === ',' && depth === 0) return line.slice(start, i);
  }
  return line.slice(start);
}

/** Fixed sleeps >= LIMIT_MS in one file's text, literal or computed from a literal >= LIMIT_MS. */
export function sleepsIn(file: string, text: string): Sleep[] {
  const out: Sleep[] = [];
  text.split('\n').forEach((line, i) => {
    const seen = new Set<number>();
    for (const re of PATTERNS) {
      for (const m of line.matchAll(re)) {
        const ms = Number(m[1]!.replaceAll('_', ''));
        if (ms >= LIMIT_MS) { out.push({ file, line: i + 1, ms, text: line.trim() }); seen.add(m.index!); }
      }
    }
    for (const re of COMPUTED) {
      for (const m of line.matchAll(re)) {
        if (seen.has(m.index!)) continue;
        const arg = argument(line, m.index! + m[0].length);
        if (/^[0-9_]+$/.test(arg.trim())) continue; // a literal: handled (or let through) above
        const big = [...arg.matchAll(/(?<![\w$.])([0-9][0-9_]*)(?![\w$])/g)].map((n) => Number(n[1]!.replaceAll('_', ''))).filter((n) => n >= LIMIT_MS);
        if (big.length > 0) out.push({ file, line: i + 1, ms: Math.max(...big), text: line.trim() });
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
