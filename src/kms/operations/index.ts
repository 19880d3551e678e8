// Every KMS operation rekey implements, one per file.
import type { Operation } from '../context.ts';
import { cancelKeyDeletion } from './cancel-key-deletion.ts';
import { createAlias } from './create-alias.ts';
import { createGrant } from './create-grant.ts';
import { createKey } from './create-key.ts';
import { decrypt } from './decrypt.ts';
import { deleteAlias } from './delete-alias.ts';
import { describeKey } from './describe-key.ts';
import { disableKey } from './disable-key.ts';
import { disableKeyRotation } from './disable-key-rotation.ts';
import { enableKey } from './enable-key.ts';
import { enableKeyRotation } from './enable-key-rotation.ts';
import { encrypt } from './encrypt.ts';
import { generateDataKey } from './generate-data-key.ts';
import { generateDataKeyWithoutPlaintext } from './generate-data-key-without-plaintext.ts';
import { generateRandom } from './generate-random.ts';
import { getKeyPolicy } from './get-key-policy.ts';
import { getKeyRotationStatus } from './get-key-rotation-status.ts';
import { listAliases } from './list-aliases.ts';
import { listGrants } from './list-grants.ts';
import { listKeyPolicies } from './list-key-policies.ts';
import { listKeyRotations } from './list-key-rotations.ts';
import { listKeys } from './list-keys.ts';
import { listResourceTags } from './list-resource-tags.ts';
import { listRetirableGrants } from './list-retirable-grants.ts';
import { putKeyPolicy } from './put-key-policy.ts';
import { reEncrypt } from './re-encrypt.ts';
import { retireGrant } from './retire-grant.ts';
import { revokeGrant } from './revoke-grant.ts';
import { rotateKeyOnDemand } from './rotate-key-on-demand.ts';
import { scheduleKeyDeletion } from './schedule-key-deletion.ts';
import { tagResource } from './tag-resource.ts';
import { untagResource } from './untag-resource.ts';
import { updateAlias } from './update-alias.ts';
import { updateKeyDescription } from './update-key-description.ts';

// Each operation's request type differs; the registry only needs name, shape and run.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const OPERATIONS: readonly Operation<any>[] = [
  createKey, describeKey, listKeys, updateKeyDescription, enableKey, disableKey, scheduleKeyDeletion, cancelKeyDeletion,
  encrypt, decrypt, reEncrypt, generateDataKey, generateDataKeyWithoutPlaintext, generateRandom,
  createAlias, updateAlias, deleteAlias, listAliases,
  tagResource, untagResource, listResourceTags,
  getKeyPolicy, putKeyPolicy, listKeyPolicies,
  enableKeyRotation, disableKeyRotation, getKeyRotationStatus, rotateKeyOnDemand, listKeyRotations,
  createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant,
];
