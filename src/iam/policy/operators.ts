// Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators"). Each
// negated operator is the negation of its positive twin over the same values; what a missing key
// means is decided in conditions.ts.
import { globMatch, arnMatch } from './wildcard.ts';

export type ValueType = 'string' | 'numeric' | 'date' | 'bool' | 'ip' | 'arn' | 'null' | 'binary';

export interface OperatorDef {
  readonly type: ValueType;
  /** The negated form (StringNotEquals, NotIpAddress, ...). */
  readonly negated: boolean;
  /** Positive comparison of one request value with one (prepared) policy value. */
  readonly compare?: (requestValue: string, policyValue: string) => boolean;
}

const num = (s: string) => (s.trim() === '' ? NaN : Number(s));

export const OPERATORS = {
  StringEquals: { type: 'string', negated: false, compare: (v, p) => v === p },
  StringNotEquals: { type: 'string', negated: true, compare: (v, p) => v === p },
  // AWS: "Exact matching, ignoring case"; policy values are lower-cased when compiled.
  StringEqualsIgnoreCase: { type: 'string', negated: false, compare: (v, p) => v.toLowerCase() === p },
  StringNotEqualsIgnoreCase: { type: 'string', negated: true, compare: (v, p) => v.toLowerCase() === p },
  StringLike: { type: 'string', negated: false, compare: (v, p) => globMatch(p, v) },
  StringNotLike: { type: 'string', negated: true, compare: (v, p) => globMatch(p, v) },
  NumericEquals: { type: 'numeric', negated: false, compare: (v, p) => num(v) === num(p) },
  NumericNotEquals: { type: 'numeric', negated: true, compare: (v, p) => num(v) === num(p) },
  NumericLessThan: { type: 'numeric', negated: false, compare: (v, p) => num(v) < num(p) },
  NumericLessThanEquals: { type: 'numeric', negated: false, compare: (v, p) => num(v) <= num(p) },
  NumericGreaterThan: { type: 'numeric', negated: false, compare: (v, p) => num(v) > num(p) },
  NumericGreaterThanEquals: { type: 'numeric', negated: false, compare: (v, p) => num(v) >= num(p) },
  // Date values are compiled to epoch milliseconds (as strings) on both sides.
  DateEquals: { type: 'date', negated: false, compare: (v, p) => num(v) === num(p) },
  DateNotEquals: { type: 'date', negated: true, compare: (v, p) => num(v) === num(p) },
  DateLessThan: { type: 'date', negated: false, compare: (v, p) => num(v) < num(p) },
  DateLessThanEquals: { type: 'date', negated: false, compare: (v, p) => num(v) <= num(p) },
  DateGreaterThan: { type: 'date', negated: false, compare: (v, p) => num(v) > num(p) },
  DateGreaterThanEquals: { type: 'date', negated: false, compare: (v, p) => num(v) >= num(p) },
  // AWS: "Bool ... Boolean matching"; values "true"/"false", compared without case.
  Bool: { type: 'bool', negated: false, compare: (v, p) => v.toLowerCase() === p },
  BinaryEquals: { type: 'binary', negated: false, compare: (v, p) => v === p },
  // IpAddress is evaluated against a compiled CIDR set, not value by value.
  IpAddress: { type: 'ip', negated: false },
  NotIpAddress: { type: 'ip', negated: true },
  // AWS: "ArnEquals, ArnLike: Case-sensitive matching of the ARN ... can include wildcards."
  ArnEquals: { type: 'arn', negated: false, compare: (v, p) => arnMatch(p, v) },
  ArnLike: { type: 'arn', negated: false, compare: (v, p) => arnMatch(p, v) },
  ArnNotEquals: { type: 'arn', negated: true, compare: (v, p) => arnMatch(p, v) },
  ArnNotLike: { type: 'arn', negated: true, compare: (v, p) => arnMatch(p, v) },
  Null: { type: 'null', negated: false },
} as const satisfies Record<string, OperatorDef>;

export type OperatorName = keyof typeof OPERATORS;
