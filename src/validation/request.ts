// Request validation shared by every AWS-protocol service (KMS, Secrets Manager, and any other):
// each operation declares its request shape with the constraints of its service model; the shape
// compiles once to an ajv validator.
//
// Errors follow AWS's coral service framework:
//  - a member with the wrong JSON type -> SerializationException, e.g.
//      "STRING_VALUE can not be converted to an Integer"
//      "Start of structure or map found where not expected."
//  - constraint violations -> one ValidationException listing all of them, e.g.
//      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
//      "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value '0' at 'limit' ..."
//    Member paths are camelCase ('tags.1.member.tagKey'); sensitive members and blobs omit the value.
//  - unknown members are ignored and JSON null counts as absent, as in AWS's JSON protocol.
// The input is copied before it is checked (jose's snapshotJws), so later mutation cannot bypass it.
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import { SerializationException, ValidationException, needs } from '../errors.ts';

export type Shape =
  | { kind: 'string'; min?: number; max?: number; pattern?: string; enum?: readonly string[]; sensitive?: boolean }
  | { kind: 'integer'; min?: number; max?: number }
  | { kind: 'boolean' }
  | { kind: 'blob'; min?: number; max?: number; sensitive?: boolean }
  | { kind: 'map' }
  | { kind: 'list'; member: Shape; min?: number; max?: number }
  | { kind: 'structure'; members: Record<string, Shape>; required?: readonly string[] };

export type StructShape = Extract<Shape, { kind: 'structure' }>;

/** Shape builders. */
export const S = {
  string: (o: { min?: number; max?: number; pattern?: string; sensitive?: boolean } = {}): Shape => ({ kind: 'string', ...o }),
  enum: (values: readonly string[]): Shape => ({ kind: 'string', enum: values }),
  integer: (o: { min?: number; max?: number } = {}): Shape => ({ kind: 'integer', ...o }),
  boolean: (): Shape => ({ kind: 'boolean' }),
  blob: (o: { min?: number; max?: number; sensitive?: boolean } = {}): Shape => ({ kind: 'blob', ...o }),
  /** A map of string to string (the only map KMS has: EncryptionContextType). */
  map: (): Shape => ({ kind: 'map' }),
  list: (member: Shape, o: { min?: number; max?: number } = {}): Shape => ({ kind: 'list', member, ...o }),
  struct: (members: Record<string, Shape>, required: readonly string[] = []): StructShape => ({ kind: 'structure', members, required }),
};

/** Member shapes of the AWS KMS service model (2014-11-01) that several operations share. */
export const T = {
  KeyId: S.string({ min: 1, max: 2048 }),
  AliasName: S.string({ min: 1, max: 256, pattern: '^[a-zA-Z0-9:/_-]+$' }),
  Description: S.string({ min: 0, max: 8192 }),
  Policy: S.string({ min: 1, max: 131072, pattern: '^[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+$' }),
  PolicyName: S.string({ min: 1, max: 128, pattern: '^[\\w]+$' }),
  Limit: S.integer({ min: 1, max: 1000 }),
  Marker: S.string({ min: 1, max: 1024, pattern: '^[\\u0020-\\u00FF]*$' }),
  GrantTokens: S.list(S.string({ min: 1, max: 8192 }), { min: 0, max: 10 }),
  EncryptionContext: S.map(),
  EncryptionAlgorithm: S.enum(['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE']),
  Plaintext: S.blob({ min: 1, max: 4096, sensitive: true }),
  Ciphertext: S.blob({ min: 1, max: 6144 }),
  NumberOfBytes: S.integer({ min: 1, max: 1024 }),
  Boolean: S.boolean(),
  TagKey: S.string({ min: 1, max: 128 }),
  TagValue: S.string({ min: 0, max: 256 }),
  CustomKeyStoreId: S.string({ min: 1, max: 64 }),
  Recipient: S.struct({ KeyEncryptionAlgorithm: S.enum(['RSAES_OAEP_SHA_256']), AttestationDocument: S.blob({ min: 1, max: 262144 }) }),
  DryRunModifiers: S.list(S.enum(['IGNORE_CIPHERTEXT'])),
} as const;

export const TagList = S.list(S.struct({ TagKey: T.TagKey, TagValue: T.TagValue }, ['TagKey', 'TagValue']));

// ---- compilation

// Standard base64 with padding (what the AWS SDKs send). A plain character class is much faster than
// a grouped pattern on the Encrypt hot path; the length check completes it.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodedLength(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}

const blobKeyword: SchemaValidateFunction = function blob(schema: { min?: number; max?: number }, data: unknown): boolean {
  if (typeof data !== 'string') return true; // the type keyword reports it
  const fail = (params: Record<string, unknown>): boolean => {
    blobKeyword.errors = [{ keyword: 'blob', params }];
    return false;
  };
  if (data.length % 4 !== 0 || !BASE64.test(data)) return fail({ problem: 'base64' });
  const n = decodedLength(data);
  if (schema.min !== undefined && n < schema.min) return fail({ problem: 'min', limit: schema.min });
  if (schema.max !== undefined && n > schema.max) return fail({ problem: 'max', limit: schema.max });
  return true;
};

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
ajv.addKeyword({ keyword: 'awsKind', schemaType: 'string' });
ajv.addKeyword({ keyword: 'sensitive', schemaType: 'boolean' });
ajv.addKeyword({ keyword: 'blob', schemaType: 'object', errors: true, validate: blobKeyword });

function toSchema(s: Shape): Record<string, unknown> {
  switch (s.kind) {
    case 'string':
      return {
        type: 'string', awsKind: 'String',
        ...(s.min !== undefined ? { minLength: s.min } : {}), ...(s.max !== undefined ? { maxLength: s.max } : {}),
        ...(s.pattern ? { pattern: s.pattern } : {}), ...(s.enum ? { enum: [...s.enum] } : {}),
        ...(s.sensitive ? { sensitive: true } : {}),
      };
    case 'integer':
      return { type: 'integer', awsKind: 'Integer', ...(s.min !== undefined ? { minimum: s.min } : {}), ...(s.max !== undefined ? { maximum: s.max } : {}) };
    case 'boolean':
      return { type: 'boolean', awsKind: 'Boolean' };
    case 'blob':
      return { type: 'string', awsKind: 'Blob', blob: { ...(s.min !== undefined ? { min: s.min } : {}), ...(s.max !== undefined ? { max: s.max } : {}) }, ...(s.sensitive ? { sensitive: true } : {}) };
    case 'map':
      return { type: 'object', awsKind: 'Map', additionalProperties: { type: 'string', awsKind: 'String' } };
    case 'list':
      return { type: 'array', awsKind: 'List', items: toSchema(s.member), ...(s.min !== undefined ? { minItems: s.min } : {}), ...(s.max !== undefined ? { maxItems: s.max } : {}) };
    case 'structure':
      return {
        type: 'object', awsKind: 'Structure',
        properties: Object.fromEntries(Object.entries(s.members).map(([k, v]) => [k, toSchema(v)])),
        ...(s.required && s.required.length > 0 ? { required: [...s.required] } : {}),
      };
  }
}

// ---- error messages

/** '/Tags/0/TagKey' -> 'tags.1.member.tagKey' (coral's member path). */
function memberPath(pointer: string): string {
  const out: string[] = [];
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^(0|[1-9][0-9]*)$/.test(seg)) out.push(`${Number(seg) + 1}.member`);
    else out.push(seg.charAt(0).toLowerCase() + seg.slice(1));
  }
  return out.join('.');
}

function jsonToken(v: unknown): string {
  if (typeof v === 'string') return 'STRING_VALUE';
  if (typeof v === 'number') return 'NUMBER_VALUE';
  if (typeof v === 'boolean') return 'BOOLEAN_VALUE';
  return 'NULL_VALUE';
}

function typeMessage(kind: string, data: unknown): string {
  if (Array.isArray(data)) return 'Start of list found where not expected.';
  if (data !== null && typeof data === 'object') return 'Start of structure or map found where not expected.';
  if (kind === 'Integer' && typeof data === 'number') return 'Non-integer NUMBER_VALUE can not be converted to an Integer';
  const article = /^[AEIOU]/.test(kind) ? 'an' : 'a';
  return `${jsonToken(data)} can not be converted to ${article} ${kind}`;
}

function renderValue(schema: Record<string, unknown> | undefined, data: unknown): string {
  if (!schema || schema['sensitive'] === true) return 'Value';
  if (data === undefined || data === null) return 'Value null';
  if (schema['awsKind'] === 'Blob') return 'Value';
  if (Array.isArray(data)) return `Value '[${data.map((x) => String(x)).join(', ')}]'`;
  return `Value '${String(data)}'`;
}

function constraint(e: ErrorObject): string | null {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return 'Member must not be null';
    case 'minLength': case 'minItems': return `Member must have length greater than or equal to ${String(p['limit'])}`;
    case 'maxLength': case 'maxItems': return `Member must have length less than or equal to ${String(p['limit'])}`;
    case 'minimum': return `Member must have value greater than or equal to ${String(p['limit'])}`;
    case 'maximum': return `Member must have value less than or equal to ${String(p['limit'])}`;
    case 'pattern': return `Member must satisfy regular expression pattern: ${String(p['pattern'])}`;
    case 'enum': return `Member must satisfy enum value set: [${(p['allowedValues'] as unknown[]).map(String).join(', ')}]`;
    case 'blob':
      if (p['problem'] === 'min') return `Member must have length greater than or equal to ${String(p['limit'])}`;
      if (p['problem'] === 'max') return `Member must have length less than or equal to ${String(p['limit'])}`;
      return null;
    default: return null;
  }
}

function explain(errors: ErrorObject[]): Error {
  // Wrong JSON types first: coral fails while deserializing, before any constraint is checked.
  for (const e of errors) {
    if (e.keyword === 'type') return new SerializationException(typeMessage(String((e.parentSchema as Record<string, unknown>)['awsKind']), e.data));
    if (e.keyword === 'blob' && (e.params as Record<string, unknown>)['problem'] === 'base64') {
      return new SerializationException(`Invalid base64: '${memberPath(e.instancePath)}' must be a base64-encoded string`);
    }
  }
  const msgs: string[] = [];
  for (const e of errors) {
    const c = constraint(e);
    if (c === null) continue;
    if (e.keyword === 'required') {
      const missing = String((e.params as Record<string, unknown>)['missingProperty']);
      const props = (e.parentSchema as { properties?: Record<string, Record<string, unknown>> }).properties;
      msgs.push(`${renderValue(props?.[missing], null)} at '${memberPath(`${e.instancePath}/${missing}`)}' failed to satisfy constraint: ${c}`);
    } else {
      msgs.push(`${renderValue(e.parentSchema as Record<string, unknown>, e.data)} at '${memberPath(e.instancePath)}' failed to satisfy constraint: ${c}`);
    }
  }
  needs(msgs.length > 0, `unmapped validation error: ${JSON.stringify(errors[0] ?? null)}`);
  return new ValidationException(`${msgs.length} validation error${msgs.length === 1 ? '' : 's'} detected: ${msgs.join('; ')}`);
}

// ---- copying untrusted input

const MAX_DEPTH = 16;

/** Deep copy of parsed JSON: own enumerable members only, nulls in objects dropped (= absent). */
function copyInput(v: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new SerializationException('The request is nested too deeply.');
  if (Array.isArray(v)) return v.map((x) => copyInput(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    // Object.fromEntries defines own properties, so a "__proto__" member stays a plain member.
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== undefined).map(([k, x]) => [k, copyInput(x, depth + 1)]));
  }
  return v;
}

/** A compiled request validator: returns a fresh, typed copy of the input with blobs decoded. */
export type RequestValidator<T> = (input: unknown) => T;

export function compileRequest<T>(shape: StructShape): RequestValidator<T> {
  const validate: ValidateFunction = ajv.compile(toSchema(shape));
  const blobs = Object.entries(shape.members).filter(([, s]) => s.kind === 'blob').map(([k]) => k);
  return (input: unknown): T => {
    const raw = input === undefined || input === null ? {} : input;
    if (Array.isArray(raw)) throw new SerializationException('Start of list found where not expected.');
    if (typeof raw !== 'object') throw new SerializationException(typeMessage('Structure', raw));
    const copy = copyInput(raw, 0) as Record<string, unknown>;
    if (!validate(copy)) throw explain(validate.errors ?? []);
    for (const k of blobs) {
      const b = copy[k];
      if (typeof b === 'string') copy[k] = Buffer.from(b, 'base64');
    }
    return copy as T;
  };
}
