// Every Secrets Manager operation rekey implements, one per file.
import type { Operation } from '../context.ts';
import { batchGetSecretValue } from './batch-get-secret-value.ts';
import { cancelRotateSecret } from './cancel-rotate-secret.ts';
import { createSecret } from './create-secret.ts';
import { deleteSecret } from './delete-secret.ts';
import { describeSecret } from './describe-secret.ts';
import { getRandomPassword } from './get-random-password.ts';
import { getSecretValue } from './get-secret-value.ts';
import { listSecretVersionIds } from './list-secret-version-ids.ts';
import { listSecrets } from './list-secrets.ts';
import { putSecretValue } from './put-secret-value.ts';
import { deleteResourcePolicy } from './delete-resource-policy.ts';
import { getResourcePolicy } from './get-resource-policy.ts';
import { putResourcePolicy } from './put-resource-policy.ts';
import { validateResourcePolicy } from './validate-resource-policy.ts';
import { restoreSecret } from './restore-secret.ts';
import { rotateSecret } from './rotate-secret.ts';
import { tagResource } from './tag-resource.ts';
import { untagResource } from './untag-resource.ts';
import { updateSecret } from './update-secret.ts';
import { updateSecretVersionStage } from './update-secret-version-stage.ts';

export const OPERATIONS: readonly Operation<never>[] = [
  batchGetSecretValue, cancelRotateSecret, createSecret, deleteSecret, describeSecret, getRandomPassword, getSecretValue,
  listSecretVersionIds, listSecrets, putSecretValue, deleteResourcePolicy, getResourcePolicy, putResourcePolicy,
  validateResourcePolicy, restoreSecret, rotateSecret, tagResource, untagResource, updateSecret, updateSecretVersionStage,
] as unknown as Operation<never>[];
