// Parsing and validation of IAM policy documents (identity policies, KMS key policies, role trust
// policies) into a checked syntax tree. Every failure is a MalformedPolicyDocumentException with
// the wording IAM and KMS use where it is known (IAM User Guide, "IAM JSON policy element
// reference"; the messages IAM returns from PutUserPolicy / CreateRole).
import { MalformedPolicyDocumentException } from '../../errors.ts';
import { OPERATORS, type OperatorName } from './operators.ts';
import { parseCidr } from './ip.ts';

/** identity: attached to a user or role; resource: a KMS key policy; trust: a role's trust policy. */
export type PolicyKind = 'identity' | 'resource' | 'trust';

export interface PrincipalSpec {
  any: boolean;
  /** "AWS" values: account ids, account root ARNs, user/role/assumed-role ARNs. */
  aws: string[];
  service: string[];
  federated: string[];
}

export interface ConditionSpec {
  operator: OperatorName;
  qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  ifExists: boolean;
  /** Condition key names are case-insensitive: kept lower-cased. */
  key: string;
  values: string[];
}

export interface StatementSpec {
  index: number;
  sid: string | undefined;
  effect: 'Allow' | 'Deny';
  principal: { not: boolean; spec: PrincipalSpec } | undefined;
  action: { not: boolean; values: string[] };
  resource: { not: boolean; values: string[] } | undefined;
  conditions: ConditionSpec[];
}

export interface PolicySpec {
  version: string | undefined;
  id: string | undefined;
  statements: StatementSpec[];
}

/** AWS limits: key policy 32 KB (KMS), managed/inline identity policy 10,240 characters for roles, trust policy 2048 by default. */
export const MAX_POLICY_BYTES: Readonly<Record<PolicyKind, number>> = { resource: 32768, identity: 10240, trust: 4096 };

const malformed = (m: string) => new MalformedPolicyDocumentException(m);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const VENDOR = 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.';
const TOP_FIELDS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

function strings(v: unknown, missing: string): string[] {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
  if (!list || list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) throw malformed(missing);
  return list as string[];
}

function scalarStrings(v: unknown, where: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw malformed(`Condition ${where} must have at least one value.`);
  return list.map((x) => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' || typeof x === 'boolean') return String(x);
    throw malformed(`Syntax errors in policy. Condition ${where} values must be strings, numbers or booleans.`);
  });
}

// AWS (Principal element): an account id, "arn:aws:iam::<account>:root", a user, role,
// assumed-role session or federated user ARN; wildcards only as the whole value "*".
const AWS_PRINCIPAL = /^(\d{12}|arn:aws[\w-]*:iam::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|arn:aws[\w-]*:sts::\d{12}:(assumed-role\/[\w+=,.@/-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;

function parsePrincipal(v: unknown): PrincipalSpec {
  const spec: PrincipalSpec = { any: false, aws: [], service: [], federated: [] };
  if (v === '*') return { ...spec, any: true };
  if (!isObject(v) || Object.keys(v).length === 0) throw malformed('Invalid principal in policy');
  for (const [type, raw] of Object.entries(v)) {
    const values = strings(raw, `Invalid principal in policy: "${type}"`);
    for (const p of values) {
      const bad = () => malformed(`Invalid principal in policy: "${type}":"${p}"`);
      if (type === 'AWS') {
        if (p === '*') spec.any = true;
        else if (AWS_PRINCIPAL.test(p)) spec.aws.push(p);
        else throw bad();
      } else if (type === 'Service') {
        if (!/^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$|^\*$/.test(p)) throw bad();
        spec.service.push(p);
      } else if (type === 'Federated' || type === 'CanonicalUser') {
        spec.federated.push(p);
      } else {
        throw malformed(`Invalid principal in policy: "${type}"`);
      }
    }
  }
  return spec;
}

function parseActions(v: unknown): string[] {
  const list = strings(v, 'Policy statement must contain actions.');
  for (const a of list) if (a !== '*' && !/^[A-Za-z0-9-]+:[A-Za-z0-9*?-]*$/.test(a)) throw malformed(a.includes(':') ? `Policy has invalid action: ${a}` : VENDOR);
  return list;
}

function checkValue(op: OperatorName, value: string, where: string): void {
  const kind = OPERATORS[op].type;
  const ok =
    kind === 'numeric' ? value.trim() !== '' && Number.isFinite(Number(value)) :
    kind === 'date' ? !Number.isNaN(parseDate(value)) :
    kind === 'bool' || kind === 'null' ? value === 'true' || value === 'false' :
    kind === 'ip' ? parseCidr(value) !== null :
    true;
  if (!ok) throw malformed(`Invalid value for condition ${where}: "${value}"`);
}

/** AWS date values: ISO 8601 (e.g. 2024-01-31T12:00:00Z) or seconds since the epoch. */
export function parseDate(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  return /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
}

function parseConditions(v: unknown): ConditionSpec[] {
  if (!isObject(v)) throw malformed('Syntax errors in policy. Condition must be an object.');
  const out: ConditionSpec[] = [];
  for (const [rawOp, block] of Object.entries(v)) {
    const m = /^(?:(ForAnyValue|ForAllValues):)?(.+?)(IfExists)?$/i.exec(rawOp);
    const base = m?.[2] ?? '';
    const canonical = (Object.keys(OPERATORS) as OperatorName[]).find((o) => o.toLowerCase() === base.toLowerCase());
    if (!m || !canonical || (canonical === 'Null' && m[3])) throw malformed(`Invalid Condition type : ${rawOp}`);
    const q = m[1]?.toLowerCase();
    const qualifier = q === 'foranyvalue' ? 'ForAnyValue' : q === 'forallvalues' ? 'ForAllValues' : undefined;
    if (!isObject(block) || Object.keys(block).length === 0) throw malformed(`Syntax errors in policy. Condition ${rawOp} must map condition keys to values.`);
    for (const [key, raw] of Object.entries(block)) {
      if (!/^[A-Za-z0-9-]+:.+$/.test(key)) throw malformed(VENDOR);
      const values = scalarStrings(raw, `${rawOp} ${key}`);
      for (const value of values) checkValue(canonical, value, `${rawOp} ${key}`);
      out.push({ operator: canonical, qualifier, ifExists: m[3] !== undefined, key: key.toLowerCase(), values });
    }
  }
  return out;
}

function parseStatement(s: unknown, index: number, kind: PolicyKind): StatementSpec {
  if (!isObject(s)) throw malformed('Syntax errors in policy. Each Statement must be a JSON object.');
  for (const k of Object.keys(s)) if (!STATEMENT_FIELDS.has(k)) throw malformed(`Syntax errors in policy. Unknown field ${k}`);
  const sid = s['Sid'];
  if (sid !== undefined && typeof sid !== 'string') throw malformed('Syntax errors in policy. Sid must be a string.');
  // IAM: "Statement IDs (SID) must be alpha-numeric." KMS key policies allow spaces ("Enable IAM User Permissions").
  if (kind === 'identity' && sid !== undefined && !/^[0-9A-Za-z]*$/.test(sid)) {
    throw malformed('Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*');
  }
  const effect = s['Effect'];
  if (effect === undefined) throw malformed('Missing required field Effect');
  if (effect !== 'Allow' && effect !== 'Deny') throw malformed(`Invalid effect: ${String(effect)}`);

  const hasP = s['Principal'] !== undefined;
  const hasNP = s['NotPrincipal'] !== undefined;
  let principal: StatementSpec['principal'];
  if (kind === 'identity') {
    if (hasP) throw malformed('Has prohibited field Principal');
    if (hasNP) throw malformed('Has prohibited field NotPrincipal');
  } else {
    if (hasP && hasNP) throw malformed('Syntax errors in policy. A statement cannot have both Principal and NotPrincipal.');
    if (!hasP && !hasNP) throw malformed('Missing required field Principal');
    principal = { not: hasNP, spec: parsePrincipal(hasP ? s['Principal'] : s['NotPrincipal']) };
  }

  if (s['Action'] !== undefined && s['NotAction'] !== undefined) throw malformed('Syntax errors in policy. A statement cannot have both Action and NotAction.');
  const notAction = s['Action'] === undefined && s['NotAction'] !== undefined;
  const action = { not: notAction, values: parseActions(notAction ? s['NotAction'] : s['Action']) };

  let resource: StatementSpec['resource'];
  const hasR = s['Resource'] !== undefined;
  const hasNR = s['NotResource'] !== undefined;
  if (kind === 'trust') {
    if (hasR) throw malformed('Has prohibited field Resource');
    if (hasNR) throw malformed('Has prohibited field NotResource');
  } else {
    if (hasR && hasNR) throw malformed('Syntax errors in policy. A statement cannot have both Resource and NotResource.');
    const values = strings(hasR ? s['Resource'] : s['NotResource'], 'Policy statement must contain resources.');
    // IAM: 'Resource <value> must be in ARN format or "*".'
    for (const r of values) if (r !== '*' && !/^arn:[^:]*:[^:]*:[^:]*:[^:]*:.+$|^arn:\*$/.test(r)) throw malformed(`Resource ${r} must be in ARN format or "*".`);
    resource = { not: hasNR, values };
  }
  const conditions = s['Condition'] === undefined ? [] : parseConditions(s['Condition']);
  return { index, sid, effect, principal, action, resource, conditions };
}

/** Parses and validates a policy document. Throws MalformedPolicyDocumentException. */
export function parsePolicy(text: string, kind: PolicyKind): PolicySpec {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES[kind]) {
    throw malformed(`The policy document exceeds the maximum size of ${MAX_POLICY_BYTES[kind]} bytes.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  if (!isObject(doc)) throw malformed('Syntax errors in policy.');
  for (const k of Object.keys(doc)) if (!TOP_FIELDS.has(k)) throw malformed(`Syntax errors in policy. Unknown field ${k}`);
  const version = doc['Version'];
  if (version !== undefined && version !== '2012-10-17' && version !== '2008-10-17') {
    throw malformed(`The policy Version "${String(version)}" is not supported: use "2012-10-17" (or the older "2008-10-17").`);
  }
  const id = doc['Id'];
  if (id !== undefined && typeof id !== 'string') throw malformed('Syntax errors in policy. Id must be a string.');
  const st = doc['Statement'];
  if (st === undefined) throw malformed('Missing required field Statement');
  const list = Array.isArray(st) ? st : [st];
  if (list.length === 0) throw malformed('Missing required field Statement');
  const statements = list.map((s, i) => parseStatement(s, i, kind));
  const sids = statements.map((s) => s.sid).filter((s): s is string => s !== undefined && s !== '');
  if (new Set(sids).size !== sids.length) throw malformed('Statement IDs (SID) in a single policy must be unique.');
  return { version: version as string | undefined, id: id as string | undefined, statements };
}
