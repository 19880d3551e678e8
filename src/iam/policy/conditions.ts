// Condition blocks compiled to predicates over the request context.
//
// AWS rules implemented here (IAM User Guide, "Condition operators", "Multivalued context keys"):
// - "If you specify multiple condition operators, or multiple keys ... they are evaluated using a
//   logical AND"; "If a single condition operator includes multiple values for a key, the
//   condition is evaluated using a logical OR."
// - "If the key that you specify in a policy condition is not present in the request context, the
//   values do not match and the condition is false. If the policy condition requires that the key
//   is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the
//   condition is true." ...IfExists: "If the policy key is present in the context of the request,
//   process the key as specified in the policy. If the key is not present, evaluate the condition
//   element as true."
// - ForAnyValue: true if at least one request value matches; false when the key is missing or
//   empty. ForAllValues: true if every request value matches; true when the key is missing or empty.
// - Null: "true" matches when the key is absent, "false" when it is present.
import { OPERATORS, type OperatorDef } from './operators.ts';
import { CidrSet } from './ip.ts';
import { parseDate, type ConditionSpec } from './parse.ts';

export type ContextScalar = string | number | boolean;
export type ContextValue = ContextScalar | readonly ContextScalar[];
/** Request context: condition key -> value. Keys are case-insensitive (lower-case them for the fast path). */
export type RequestContext = Readonly<Record<string, ContextValue | undefined>>;

/** Case-insensitive view of a request context; lower-cases keys only if a lookup misses. */
export class ContextView {
  private lowered: Map<string, ContextValue> | undefined;
  constructor(readonly raw: RequestContext) {}

  get(lowerKey: string): ContextValue | undefined {
    const v = this.raw[lowerKey];
    if (v !== undefined) return v;
    if (!this.lowered) {
      this.lowered = new Map();
      for (const [k, val] of Object.entries(this.raw)) if (val !== undefined) this.lowered.set(k.toLowerCase(), val);
    }
    return this.lowered.get(lowerKey);
  }
}

export type Predicate = (ctx: ContextView) => boolean;

function isEmpty(v: ContextValue | undefined): boolean {
  return v === undefined || (Array.isArray(v) && v.length === 0);
}

export function compileCondition(c: ConditionSpec): Predicate {
  const def: OperatorDef = OPERATORS[c.operator];
  const key = c.key;

  if (def.type === 'null') {
    // Several values OR together: {"Null": {"k": ["true", "false"]}} is always true.
    const wantAbsent = c.values.includes('true');
    const wantPresent = c.values.includes('false');
    return (ctx) => {
      const absent = isEmpty(ctx.get(key));
      return (absent && wantAbsent) || (!absent && wantPresent);
    };
  }

  // One request value against every policy value: does any policy value match? (logical OR)
  let positive: (v: string) => boolean;
  if (def.type === 'ip') {
    const set = new CidrSet(c.values);
    positive = (v) => set.has(v);
  } else {
    const compare = def.compare!;
    const prep = def.type === 'date' ? (s: string) => String(parseDate(s)) : (s: string) => s;
    const policyValues = c.values.map((p) =>
      c.operator === 'StringEqualsIgnoreCase' || c.operator === 'StringNotEqualsIgnoreCase' || def.type === 'bool' ? p.toLowerCase() : prep(p));
    if (policyValues.length === 1) {
      const p0 = policyValues[0]!;
      positive = (v) => compare(prep(v), p0);
    } else {
      positive = (v) => {
        const pv = prep(v);
        for (const p of policyValues) if (compare(pv, p)) return true;
        return false;
      };
    }
  }
  const perValue = def.negated ? (v: string) => !positive(v) : positive;

  if (c.qualifier === 'ForAnyValue') {
    return (ctx) => {
      const v = ctx.get(key);
      if (isEmpty(v)) return c.ifExists && v === undefined;
      if (!Array.isArray(v)) return perValue(String(v));
      for (const x of v as readonly ContextScalar[]) if (perValue(String(x))) return true;
      return false;
    };
  }
  if (c.qualifier === 'ForAllValues') {
    return (ctx) => {
      const v = ctx.get(key);
      if (isEmpty(v)) return true;
      if (!Array.isArray(v)) return perValue(String(v));
      for (const x of v as readonly ContextScalar[]) if (!perValue(String(x))) return false;
      return true;
    };
  }
  // No set qualifier: a multivalued request key matches when any of its values matches; the
  // negated operator is the negation of that.
  return (ctx) => {
    const v = ctx.get(key);
    if (v === undefined) return c.ifExists || def.negated;
    let any = false;
    if (!Array.isArray(v)) any = positive(String(v));
    else for (const x of v as readonly ContextScalar[]) if (positive(String(x))) { any = true; break; }
    return def.negated ? !any : any;
  };
}

/** All conditions of a statement (logical AND); undefined when the statement has none. */
export function compileConditions(specs: readonly ConditionSpec[]): Predicate | undefined {
  if (specs.length === 0) return undefined;
  const preds = specs.map(compileCondition);
  if (preds.length === 1) return preds[0];
  return (ctx) => {
    for (const p of preds) if (!p(ctx)) return false;
    return true;
  };
}
