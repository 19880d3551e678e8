// The Amazon RDS Query protocol's request body: application/x-www-form-urlencoded name=value pairs
// with dotted names for lists and structures. How the real clients name list members (botocore
// serializers.QuerySerializer and the SDK v3 awsQuery protocol both follow the service model):
//   a list whose member has a locationName uses it:      Tags.Tag.1.Key, Tags.Tag.1.Value
//                                                        Filters.Filter.1.Name, Filters.Filter.1.Values.Value.1
//   a list whose member has none uses "member":          TagKeys.member.1
//   an empty list is sent as the bare name:               Tags=
// (botocore/data/rds/2014-10-31/service-2.json: TagList member locationName "Tag", FilterList
// "Filter", FilterValueList "Value", KeyList no locationName.) Both spellings are accepted for
// every list, since other clients (older SDKs, hand-written requests) use "member" throughout.
import { InvalidParameterValue, MalformedQueryString } from '../errors.ts';

/** Decoded parameters: name -> value, without duplicates, never a prototype key. */
export type QueryParams = ReadonlyMap<string, string>;

const MAX_PARAMS = 2000;
const MAX_INDEX = 1000;

function decode(part: string): string {
  // '+' is a space in form encoding; a '%' not followed by two hex digits is a syntax error
  return decodeURIComponent(part.replace(/\+/g, ' '));
}

/** Parses a form body. MalformedQueryString for bad percent-encoding, repeated names or too many pairs. */
export function parseForm(body: string): QueryParams {
  const out = new Map<string, string>();
  if (body.length === 0) return out;
  const pairs = body.split('&');
  if (pairs.length > MAX_PARAMS) throw new MalformedQueryString(`The request has more than ${MAX_PARAMS} parameters.`);
  for (const pair of pairs) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decode(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    } catch {
      throw new MalformedQueryString('The request body is not valid application/x-www-form-urlencoded data (bad percent-encoding).');
    }
    if (name.length === 0) throw new MalformedQueryString('The request body contains a parameter without a name.');
    if (out.has(name)) throw new MalformedQueryString(`The parameter ${clipName(name)} appears more than once.`);
    out.set(name, value);
  }
  return out;
}

export function clipName(name: string): string {
  return name.length > 128 ? `${name.slice(0, 128)}...` : name;
}

/** One element of a decoded list: its scalar value (lists of strings) or its members (lists of structures). */
export interface ListItem {
  index: number;
  value?: string;
  members: Map<string, string>;
}

/**
 * The elements of the list `prefix` (e.g. "Tags"), in index order. `memberName` is the model's
 * locationName ("Tag"); "member" is accepted too. Undefined when the list is absent; [] for `Tags=`.
 */
export function listOf(params: QueryParams, prefix: string, memberName: string): ListItem[] | undefined {
  const items = new Map<number, ListItem>();
  let present = params.has(prefix);
  if (present && params.get(prefix) !== '') throw new InvalidParameterValue(`The parameter ${prefix} must be a list.`);
  const head = `${prefix}.`;
  for (const [name, value] of params) {
    if (!name.startsWith(head)) continue;
    present = true;
    const rest = name.slice(head.length);
    const m = /^([A-Za-z]+)\.(\d{1,7})(?:\.(.+))?$/.exec(rest);
    if (!m || (m[1] !== memberName && m[1] !== 'member')) throw new MalformedQueryString(`Unexpected parameter ${clipName(name)}.`);
    const index = Number(m[2]);
    if (index < 1 || index > MAX_INDEX) throw new MalformedQueryString(`The list index in ${clipName(name)} must be between 1 and ${MAX_INDEX}.`);
    let item = items.get(index);
    if (!item) items.set(index, (item = { index, members: new Map() }));
    if (m[3] === undefined) item.value = value;
    else item.members.set(m[3], value);
  }
  if (!present) return undefined;
  return [...items.values()].sort((a, b) => a.index - b.index);
}

/** A list of strings (TagKeys.member.N, Values.Value.N). */
export function stringListOf(params: QueryParams, prefix: string, memberName: string): string[] | undefined {
  const items = listOf(params, prefix, memberName);
  if (!items) return undefined;
  return items.map((i) => {
    if (i.value === undefined || i.members.size > 0) throw new MalformedQueryString(`The parameter ${prefix} must be a list of strings.`);
    return i.value;
  });
}
