// Canonical JSON: the exact bytes that are hashed and signed, so a verifier in any language can
// recompute them from a parsed record.
//
//   - object keys sorted by UTF-16 code unit order (JavaScript's default sort), no whitespace;
//   - members whose value is `undefined` are omitted (as JSON.stringify does), so a record that
//     went through JSON.stringify/JSON.parse hashes to the same bytes;
//   - strings and finite numbers are written as JSON.stringify writes them;
//   - arrays keep their order; null stays null;
//   - anything else (NaN, Infinity, bigint, functions, Buffers, Dates) is refused: an event must be
//     plain JSON before it is chained, or its hash would not survive a round trip.

export class NotCanonicalizable extends Error {
  /** Where the offending value sits, e.g. $.event.requestParameters.n */
  path: string;
  constructor(readonly why: string) {
    super(`canonical JSON: ${why}`);
    this.name = 'NotCanonicalizable';
    this.path = '';
  }
}

export function canonicalJson(value: unknown): string {
  try {
    return write(value);
  } catch (e) {
    if (e instanceof NotCanonicalizable) {
      e.path = findBad(value, '$') ?? '$';
      e.message = `canonical JSON: ${e.why} at ${e.path}`;
    }
    throw e;
  }
}

// Hot path: every audited request hashes one event. Plain loops and string concatenation; keys
// are quoted directly unless they need escaping; objects whose keys are already in order (what the
// builders produce) skip the sort. The error path is only computed, by findBad, after a failure.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function write(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      // what JSON.stringify would write: nothing to escape unless NEEDS_ESCAPE matches
      return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new NotCanonicalizable('non-finite number');
      return String(v); // JSON.stringify's text for every finite number (-0 included: "0")
    case 'object': {
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ',';
          const x: unknown = v[i];
          out += x === undefined ? 'null' : write(x);
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new NotCanonicalizable('not a plain object');
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1]! > keys[i]!) {
          keys.sort();
          break;
        }
      }
      let out = '{';
      let first = true;
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += (NEEDS_ESCAPE.test(k) ? JSON.stringify(k) : '"' + k + '"') + ':' + write(x);
      }
      return out + '}';
    }
    default:
      throw new NotCanonicalizable(`unsupported ${typeof v}`);
  }
}

/** The path of the first value write() refuses (slow; only used to word an error). */
function findBad(v: unknown, path: string): string | null {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = v[i] === undefined ? null : findBad(v[i], `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return path;
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      const p = x === undefined ? null : findBad(x, `${path}.${k}`);
      if (p) return p;
    }
    return null;
  }
  try {
    write(v);
    return null;
  } catch {
    return path;
  }
}
