// CreateKey: a customer managed symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, AWS_KMS).
import { randomUUID } from '../../crypto/index.ts';
import { UnsupportedOperationException, ValidationException } from '../../errors.ts';
import { nowMs, operation } from '../context.ts';
import { keyArn } from '../ids.ts';
import { newKeyMaterial } from '../material.ts';
import { KeyState, keyMetadata, type KeyRecord } from '../model.ts';
import { validatePolicy } from '../policy.ts';
import { defaultKeyPolicy } from '../../iam/policy/key-policy.ts';
import { checkNewTags, mergeTags } from '../tags.ts';
import { S, T, TagList } from '../../validation/request.ts';
import { CUSTOMER_MASTER_KEY_SPECS, KEY_SPECS, KEY_USAGES, ORIGINS, type CreateKeyRequest } from '../wire.ts';

export const createKey = operation<CreateKeyRequest>({
  name: 'CreateKey',
  input: S.struct({
    Policy: T.Policy,
    Description: T.Description,
    KeyUsage: S.enum(KEY_USAGES),
    CustomerMasterKeySpec: S.enum(CUSTOMER_MASTER_KEY_SPECS),
    KeySpec: S.enum(KEY_SPECS),
    Origin: S.enum(ORIGINS),
    CustomKeyStoreId: T.CustomKeyStoreId,
    BypassPolicyLockoutSafetyCheck: T.Boolean,
    Tags: TagList,
    MultiRegion: T.Boolean,
    XksKeyId: S.string({ min: 1, max: 128 }),
  }),

  async run(ctx, req, call) {
    // AWS KMS: CreateKey needs kms:CreateKey in an IAM policy (resource "*"): there is no key yet.
    call.authz.account('kms:CreateKey');
    // AWS KMS: "The KeySpec and CustomerMasterKeySpec parameters work the same way ... You cannot specify both."
    if (req.KeySpec !== undefined && req.CustomerMasterKeySpec !== undefined) {
      throw new ValidationException('You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
    }
    const spec = req.KeySpec ?? req.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT';
    if (spec !== 'SYMMETRIC_DEFAULT') {
      throw new UnsupportedOperationException(`KeySpec ${spec} is not supported. rekey supports symmetric encryption keys (SYMMETRIC_DEFAULT) only.`);
    }
    // AWS KMS: the KeyUsage of a SYMMETRIC_DEFAULT key is ENCRYPT_DECRYPT.
    if (req.KeyUsage !== undefined && req.KeyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ValidationException(`KeyUsage ${req.KeyUsage} is not compatible with KeySpec SYMMETRIC_DEFAULT.`);
    }
    if (req.Origin !== undefined && req.Origin !== 'AWS_KMS') {
      throw new UnsupportedOperationException(`Origin ${req.Origin} is not supported. rekey generates key material itself (Origin AWS_KMS).`);
    }
    if (req.CustomKeyStoreId !== undefined || req.XksKeyId !== undefined) {
      throw new UnsupportedOperationException('Custom key stores are not supported by rekey.');
    }
    if (req.MultiRegion === true) throw new UnsupportedOperationException('Multi-Region keys are not supported by rekey.');
    const tags = req.Tags ? mergeTags([], checkNewTags(req.Tags)) : [];
    const now = nowMs(ctx);
    const keyId = randomUUID();
    if (req.Policy !== undefined) {
      const compiled = validatePolicy(req.Policy);
      // AWS KMS: without BypassPolicyLockoutSafetyCheck, "the principal that is making the request
      // must have permission to make a subsequent PutKeyPolicy request on the KMS key". A key made
      // without a Policy gets the default policy, which the account (and so IAM) always manages.
      if (req.BypassPolicyLockoutSafetyCheck !== true) call.authz.checkLockout(compiled, keyArn(ctx, keyId), ctx.clock());
    }
    const material = newKeyMaterial(now, null);
    const rec: KeyRecord = {
      v: 1,
      keyId,
      arn: keyArn(ctx, keyId),
      accountId: ctx.accountId,
      region: ctx.region,
      description: req.Description ?? '',
      state: KeyState.Enabled,
      keyUsage: 'ENCRYPT_DECRYPT',
      keySpec: 'SYMMETRIC_DEFAULT',
      origin: 'AWS_KMS',
      multiRegion: false,
      creationDate: now,
      deletionDate: null,
      pendingWindowInDays: null,
      policy: req.Policy ?? defaultKeyPolicy({ accountId: ctx.accountId, partition: ctx.partition }),
      tags,
      aliases: [],
      rotation: { enabled: false, periodDays: null, nextRotationDate: null, onDemandCount: 0, onDemandStartDate: null },
      materials: [material],
      currentMaterialId: material.id,
    };
    await ctx.store.createKey(rec);
    material.material = '';
    return { KeyMetadata: keyMetadata(rec) };
  },
});
