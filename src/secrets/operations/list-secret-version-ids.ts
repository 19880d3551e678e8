// ListSecretVersionIds: the versions of a secret with their labels (deprecated ones on request).
import { InvalidNextTokenException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { epochSeconds, operation } from '../context.ts';
import { versionsNewestFirst } from '../model.ts';
import { M } from '../wire.ts';

interface Req { SecretId: string; MaxResults?: number; NextToken?: string; IncludeDeprecated?: boolean }

export const listSecretVersionIds = operation<Req>({
  name: 'ListSecretVersionIds',
  input: S.struct({ SecretId: M.SecretId, MaxResults: M.MaxResults, NextToken: M.NextToken, IncludeDeprecated: M.Boolean }, ['SecretId']),
  async run(ctx, req, call) {
    const { rec } = await ctx.require(req.SecretId);
    ctx.authorize(call, 'secretsmanager:ListSecretVersionIds', rec);
    const all = versionsNewestFirst(rec).filter((v) => req.IncludeDeprecated === true || v.stages.length > 0);
    let start = 0;
    if (req.NextToken !== undefined) {
      const n = /^rk1\.(\d{1,4})$/.exec(req.NextToken);
      if (!n) throw new InvalidNextTokenException('The NextToken value is invalid.');
      start = Number(n[1]);
    }
    const max = req.MaxResults ?? 100;
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? `rk1.${start + max}` : undefined;
    // AWS names the AWS managed key alias/aws/secretsmanager "DefaultEncryptionKey" here
    // (test_secretsmanager.snapshot.json, every "list_secret_version_ids*" entry).
    const defaultKey = page.length > 0 ? (await ctx.keyFor(undefined)) : undefined;
    return {
      ARN: rec.arn, Name: rec.name,
      Versions: page.map((v) => ({
        // a deprecated version has no VersionStages key (test_secretsmanager.snapshot.json,
        // test_deprecated_secret_version_stage "list_secret_version_ids_3")
        VersionId: v.id, ...(v.stages.length > 0 ? { VersionStages: [...v.stages] } : {}), CreatedDate: epochSeconds(v.created), KmsKeyIds: [v.keyArn === defaultKey ? 'DefaultEncryptionKey' : v.keyArn],
        ...(v.lastAccessed !== undefined ? { LastAccessedDate: epochSeconds(v.lastAccessed) } : {}),
      })),
      ...(next ? { NextToken: next } : {}),
    };
  },
});
