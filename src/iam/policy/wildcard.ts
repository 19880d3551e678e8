// Wildcard matching for the IAM policy language. AWS: "You can use wildcards (* or ?) ... The
// asterisk (*) matches any combination of zero or more characters, and the question mark (?)
// matches any single character." Characters are UTF-16 code units.

/** Whether `pattern` (with * and ?) matches all of `s`. Linear-time greedy matching with one backtrack point. */
export function globMatch(pattern: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  const pl = pattern.length;
  while (si < s.length) {
    const pc = pi < pl ? pattern.charCodeAt(pi) : -1;
    if (pc === 63 /* ? */ || (pc !== 42 && pc === s.charCodeAt(si))) {
      pi++;
      si++;
    } else if (pc === 42 /* * */) {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pl && pattern.charCodeAt(pi) === 42) pi++;
  return pi === pl;
}

export function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/**
 * AWS (ArnLike/ArnEquals, and Resource ARNs): "Each of the six colon-delimited components of the
 * ARN is checked separately and each can include multi-character match wildcards (*) or
 * single-character match wildcards (?)." The sixth component (the resource) keeps any further
 * colons. A pattern with fewer components matches its last one against the rest of the value.
 * Values that are not ARNs are matched as plain strings.
 */
export function arnMatch(pattern: string, value: string): boolean {
  if (!pattern.startsWith('arn:') || !value.startsWith('arn:')) return globMatch(pattern, value);
  const p = splitArn(pattern);
  const v = splitArn(value);
  const last = p.length - 1;
  for (let i = 0; i < last; i++) {
    if (i >= v.length || !globMatch(p[i]!, v[i]!)) return false;
  }
  if (last >= v.length) return false;
  return globMatch(p[last]!, v.slice(last).join(':'));
}

function splitArn(s: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const j = s.indexOf(':', start);
    if (j < 0) break;
    parts.push(s.slice(start, j));
    start = j + 1;
  }
  parts.push(s.slice(start));
  return parts;
}

/**
 * A compiled list of patterns: exact values in a Set, "prefix*" patterns as prefixes, the rest
 * matched with `match`. `fold` lower-cases the patterns (action names are case-insensitive); the
 * caller then passes lower-cased values, so the hot path does not fold the same action twice.
 */
export interface PatternSet {
  readonly any: boolean;
  test(value: string): boolean;
}

export function compilePatterns(patterns: readonly string[], opts: { fold: boolean; arn: boolean }): PatternSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const globs: string[] = [];
  let any = false;
  for (const raw of patterns) {
    const p = opts.fold ? raw.toLowerCase() : raw;
    if (p === '*') any = true;
    else if (!hasWildcard(p)) exact.add(p);
    else if (p.endsWith('*') && !hasWildcard(p.slice(0, -1))) prefixes.push(p.slice(0, -1));
    else globs.push(p);
  }
  const match = opts.arn ? arnMatch : globMatch;
  if (any) return { any: true, test: () => true };
  return {
    any: false,
    test(v: string): boolean {
      if (exact.has(v)) return true;
      for (const p of prefixes) if (v.startsWith(p)) return true;
      for (const g of globs) if (match(g, v)) return true;
      return false;
    },
  };
}
