// CreateSecret: a new secret, with its first version (AWSCURRENT) when a value is given.
import { randomBytes, randomUUID } from '../../crypto/index.ts';
import { InvalidRequestException, ResourceExistsException, ValidationException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { INVALID_NAME, kmsFailure, operation, requireClientRequestToken } from '../context.ts';
import { addVersion } from '../labels.ts';
import type { SecretRecord } from '../model.ts';
import { isRepeat, valueOf } from '../values.ts';
import { checkTags } from './tag-resource.ts';
import { M, type CreateSecretRequest } from '../wire.ts';

/** AWS: "The secret name can contain ASCII letters, numbers, and the following characters: /_+=.@-" */
const NAME = /^[A-Za-z0-9/_+=.@-]+$/;
/** Names of secrets a service manages (RDS: rds!db-<uuid>); only that service may create them. */
const MANAGED_NAME = /^rds![A-Za-z0-9/_+=.@-]+$/;

/** ValidationException as recorded (test_secretsmanager.snapshot.json, test_invalid_secret_name, ex_log_1). */
export function checkName(name: string): void {
  if (!NAME.test(name)) throw new ValidationException(INVALID_NAME);
}

export const createSecret = operation<CreateSecretRequest>({
  name: 'CreateSecret',
  input: S.struct({
    Name: M.Name, ClientRequestToken: M.ClientRequestToken, Description: M.Description, KmsKeyId: M.KmsKeyId,
    SecretBinary: M.SecretBinary, SecretString: M.SecretString, Tags: M.Tags, ForceOverwriteReplicaSecret: M.Boolean,
    AddReplicaRegions: S.list(S.struct({ Region: S.string(), KmsKeyId: S.string() })),
  }, ['Name']),
  async run(ctx, req, call) {
    if (req.SecretString !== undefined || req.SecretBinary !== undefined) requireClientRequestToken(req.ClientRequestToken);
    if (!(call.request.managingService === 'rds' && MANAGED_NAME.test(req.Name))) checkName(req.Name);
    const value = valueOf(req, false);
    const tags = checkTags(req.Tags ?? []);
    const arn = ctx.newArn(req.Name);
    ctx.authorize(call, 'secretsmanager:CreateSecret', { arn, tags } as SecretRecord);
    const kmsKeyId = req.KmsKeyId === '' ? undefined : req.KmsKeyId;
    const existing = await ctx.byName(req.Name);
    if (existing) {
      if (existing.rec.deleted !== undefined) throw new InvalidRequestException("You can't create this secret because a secret with this name is already scheduled for deletion.");
      const v = req.ClientRequestToken !== undefined ? existing.rec.versions[req.ClientRequestToken] : undefined;
      if (v && value && (await isRepeat(ctx, existing.rec, v, value, call))) {
        return { ARN: existing.rec.arn, Name: existing.rec.name, VersionId: v.id };
      }
      throw new ResourceExistsException(`The operation failed because the secret ${req.Name} already exists.`);
    }
    const now = ctx.now();
    const keyRef = await ctx.keyFor(kmsKeyId);
    const rec: SecretRecord = {
      v: 1, uid: randomBytes(12).toString('hex'), name: req.Name, arn, keyArn: keyRef, tags, created: now, lastChanged: now, versions: {},
      ...(req.Description !== undefined ? { description: req.Description } : {}),
      ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
      ...(tags.length > 0 ? { tagged: true as const } : {}),
    };
    const versionId = value ? (req.ClientRequestToken ?? randomUUID()) : undefined;
    const extra = [];
    if (value && versionId) {
      const { op, keyArn } = await ctx.encrypt(rec, versionId, value.bytes, call);
      rec.keyArn = keyArn;
      extra.push(op);
      addVersion(rec, { id: versionId, created: now, kind: value.kind, keyArn }, undefined);
    } else if (kmsKeyId !== undefined) {
      try {
        rec.keyArn = (await ctx.deps.kms.resolveForUse(kmsKeyId)).arn;
      } catch (e) {
        throw kmsFailure(e, 'encrypt');
      }
    }
    await ctx.commit(rec, req.Name, 0, null, extra, { ARN: arn, Name: req.Name });
    // Secrets are dependents of their key (docs/ROTATION.md, "Key dependents").
    await ctx.deps.kms.dependents.register(rec.keyArn, { type: 'secret', arn, name: req.Name }).catch(() => {});
    return { ARN: arn, Name: req.Name, ...(versionId ? { VersionId: versionId } : {}) };
  },
});
