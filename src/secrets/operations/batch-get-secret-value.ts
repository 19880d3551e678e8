// BatchGetSecretValue: the AWSCURRENT values of several secrets, by SecretIdList or by Filters.
// Per-secret failures are reported in Errors, as AWS does; the call itself succeeds.
import { InvalidParameterException, RekeyError } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { FILTERS, matchesFilters, pageOf, type Filter } from './list-secrets.ts';
import { readValue } from './get-secret-value.ts';
import { M } from '../wire.ts';

interface Req { SecretIdList?: string[]; Filters?: Filter[]; MaxResults?: number; NextToken?: string }

export const batchGetSecretValue = operation<Req>({
  name: 'BatchGetSecretValue',
  input: S.struct({ SecretIdList: S.list(M.SecretId, { min: 1, max: 20 }), Filters: FILTERS, MaxResults: M.MaxResults, NextToken: M.NextToken }),
  async run(ctx, req, call) {
    if ((req.SecretIdList === undefined) === (req.Filters === undefined)) {
      throw new InvalidParameterException('Either Filters or SecretIdList must be specified, but not both.');
    }
    if (req.SecretIdList && req.MaxResults !== undefined) throw new InvalidParameterException('MaxResults can only be used with Filters.');
    let ids: string[];
    let next: string | undefined;
    if (req.SecretIdList) ids = [...new Set(req.SecretIdList)];
    else {
      ctx.authorize(call, 'secretsmanager:ListSecrets', null);
      const page = await pageOf(ctx, req.NextToken, req.MaxResults ?? 20, (r) => r.deleted === undefined && matchesFilters(r, req.Filters ?? []));
      ids = page.items.map((r) => r.arn);
      next = page.next;
    }
    const values: Record<string, unknown>[] = [];
    const errors: Record<string, unknown>[] = [];
    for (const id of ids) {
      try {
        values.push(await readValue(ctx, id, undefined, undefined, call));
      } catch (e) {
        if (!(e instanceof RekeyError) || e.fault !== 'client') throw e;
        errors.push({ SecretId: id, ErrorCode: e.code, Message: e.message });
      }
    }
    return { SecretValues: values, Errors: errors, ...(next ? { NextToken: next } : {}) };
  },
});
