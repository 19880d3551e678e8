// ListSecrets: metadata of the account's secrets, with AWS's filters and NextToken pagination.
import { InvalidNextTokenException, InvalidParameterException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { operation, type SecretsContext } from '../context.ts';
import type { SecretRecord } from '../model.ts';
import { describeOf } from './describe.ts';
import { M } from '../wire.ts';

export interface Filter { Key: string; Values?: string[] }

export const FILTERS = S.list(S.struct({
  Key: S.enum(['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all']),
  Values: S.list(S.string({ min: 1, max: 512, pattern: '^!?[a-zA-Z0-9 :_@/+=.!-]*$' }), { min: 1, max: 10 }),
}), { max: 10 });

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w.length > 0);

/**
 * AWS's filter semantics. The service model (botocore secretsmanager/2017-10-17 service-2.json,
 * Filter.Key): name, tag-key, tag-value, primary-region and owning-service are case-sensitive
 * prefix matches; description is a case-insensitive prefix match; all "breaks the filter value
 * string into words and then searches all attributes", case-insensitively. A value starting
 * with "!" negates. Values of one filter are ORed, filters are ANDed.
 * Description goes by words too, as recorded (LocalStack test_secretsmanager.py,
 * test_list_secrets_filtering, markers.aws.validated): "a secret" matches the descriptions
 * "a secret" and "an secret" but not "asecret"; "a" matches "asecret" but not "thesecret".
 */
export function matchesFilters(rec: SecretRecord, filters: readonly Filter[]): boolean {
  for (const f of filters) {
    const values = f.Values ?? [];
    if (values.length === 0) throw new InvalidParameterException(`Invalid filter values for key: ${f.Key}`);
    const ok = values.some((raw) => {
      const neg = raw.startsWith('!');
      const v = neg ? raw.slice(1) : raw;
      let hit: boolean;
      switch (f.Key) {
        case 'name': hit = rec.name.startsWith(v); break;
        case 'tag-key': hit = rec.tags.some((t) => t.Key.startsWith(v)); break;
        case 'tag-value': hit = rec.tags.some((t) => t.Value.startsWith(v)); break;
        case 'description': hit = wordsMatch(v, [rec.description ?? '']); break;
        case 'all': hit = termsMatch(v, [rec.name, rec.description ?? '', ...rec.tags.flatMap((t) => [t.Key, t.Value])]); break;
        default: hit = false;
      }
      return neg ? !hit : hit;
    });
    if (!ok) return false;
  }
  return true;
}

/**
 * The terms of the `all` filter, as AWS splits them (getmoto/moto tests/test_secretsmanager/
 * test_list_secrets.py, test_with_all_filter and test_with_all_filter_special_characters, run
 * against AWS): at whitespace and the name punctuation `/_+=.@-`, and at case changes ("SecretOne"
 * is Secret + One, "COMPANYthings" is COMPAN + Ythings, "COMPANY" one term); the filter value is
 * split the same way and every one of its terms must be, case-insensitively, the prefix of a term
 * of some attribute ("AppBeta" finds prod/AppBeta/x, "things" does not find COMPANYthings).
 */
export function terms(s: string): string[] {
  return s
    .split(/[\s/_+=.@-]+/)
    .flatMap((seg) => seg.replace(/([a-z0-9])([A-Z])/g, '$1\u0000$2').replace(/([A-Z])([A-Z][a-z])/g, '$1\u0000$2').split('\u0000'))
    .filter((t) => t.length > 0)
    .map((t) => t.toLowerCase());
}

function termsMatch(value: string, fields: readonly string[]): boolean {
  const hay = fields.flatMap(terms);
  const want = terms(value);
  if (want.length === 0) return false;
  return want.every((w) => hay.some((h) => h.startsWith(w)));
}

/** Every word of `value` is, case-insensitively, the prefix of a word of one of `fields`. */
function wordsMatch(value: string, fields: readonly string[]): boolean {
  const hay = fields.flatMap((f) => words(f.toLowerCase()));
  const want = words(value.toLowerCase());
  if (want.length === 0) return true;
  return want.every((w) => hay.some((h) => h.startsWith(w)));
}

const TOKEN_PREFIX = 'rk1.';

function decodeToken(t: string): string {
  if (!t.startsWith(TOKEN_PREFIX)) throw new InvalidNextTokenException('The NextToken value is invalid.');
  try {
    const name = Buffer.from(t.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8');
    if (name.length === 0 || name.length > 512) throw new Error('bad');
    return name;
  } catch {
    throw new InvalidNextTokenException('The NextToken value is invalid.');
  }
}

/** One page of records matching `keep`, in name order. */
export async function pageOf(ctx: SecretsContext, token: string | undefined, max: number, keep: (r: SecretRecord) => boolean): Promise<{ items: SecretRecord[]; next?: string }> {
  let after = token !== undefined ? decodeToken(token) : undefined;
  const items: SecretRecord[] = [];
  for (;;) {
    const batch = await ctx.list(after, 100);
    for (const r of batch) {
      after = r.name;
      if (!keep(r)) continue;
      items.push(r);
      if (items.length === max) {
        const more = (await ctx.list(after, 1)).length > 0;
        return { items, ...(more ? { next: TOKEN_PREFIX + Buffer.from(r.name, 'utf8').toString('base64url') } : {}) };
      }
    }
    if (batch.length < 100) return { items };
  }
}

interface Req { MaxResults?: number; NextToken?: string; Filters?: Filter[]; IncludePlannedDeletion?: boolean; SortOrder?: string; SortBy?: string }

export const listSecrets = operation<Req>({
  name: 'ListSecrets',
  input: S.struct({
    MaxResults: M.MaxResults, NextToken: M.NextToken, Filters: FILTERS, IncludePlannedDeletion: M.Boolean,
    SortOrder: S.enum(['asc', 'desc']), SortBy: S.enum(['created-date', 'last-accessed-date', 'last-changed-date', 'name']),
  }),
  async run(ctx, req, call) {
    ctx.authorize(call, 'secretsmanager:ListSecrets', null);
    const page = await pageOf(ctx, req.NextToken, req.MaxResults ?? 100, (r) => (req.IncludePlannedDeletion === true || r.deleted === undefined) && matchesFilters(r, req.Filters ?? []));
    const list = page.items.map((r) => describeOf(r, false));
    if (req.SortOrder === 'desc') list.reverse();
    return { SecretList: list, ...(page.next ? { NextToken: page.next } : {}) };
  },
});
