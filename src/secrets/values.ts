// Checks shared by the operations that take a secret value (CreateSecret, PutSecretValue, UpdateSecret).
import { constantTimeEqual, zeroize } from '../crypto/index.ts';
import { InvalidParameterException, InvalidRequestException, ResourceExistsException } from '../errors.ts';
import type { SecretsCall, SecretsContext } from './context.ts';
import type { SecretRecord, VersionMeta } from './model.ts';

export interface NewValue {
  kind: 'string' | 'binary';
  bytes: Buffer;
}

/** AWS: "You can't specify both a binary secret value and a string secret value in the same secret." */
export function valueOf(req: { SecretString?: string; SecretBinary?: Buffer }, required: boolean): NewValue | null {
  if (req.SecretString !== undefined && req.SecretBinary !== undefined) {
    throw new InvalidParameterException("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (req.SecretString !== undefined) return { kind: 'string', bytes: Buffer.from(req.SecretString, 'utf8') };
  if (req.SecretBinary !== undefined) return { kind: 'binary', bytes: req.SecretBinary };
  if (required) throw new InvalidRequestException('You must provide either SecretString or SecretBinary.');
  return null;
}

/**
 * ClientRequestToken reuse: "If a version with this value already exists and the version
 * SecretString and SecretBinary values are the same as those in the request, then the request is
 * ignored. If a version with this value already exists and that version's SecretString and
 * SecretBinary values are different from those in the request, then the request fails" with
 * ResourceExistsException. Returns true when the request is a repeat.
 */
export async function isRepeat(ctx: SecretsContext, rec: SecretRecord, existing: VersionMeta, value: NewValue, call: SecretsCall | null): Promise<boolean> {
  const stored = await ctx.decrypt(rec, existing, call);
  try {
    if (existing.kind === value.kind && stored.length === value.bytes.length && constantTimeEqual(stored, value.bytes)) return true;
  } finally {
    zeroize(stored);
  }
  // AWS's message, verified against AWS by getmoto/moto's @aws_verified tests
  // (tests/test_secretsmanager/test_secretsmanager.py: test_create_different_secret_with_same_token,
  // test_put_different_secret_value_with_same_token, test_update_different_secret_value_with_same_token)
  throw new ResourceExistsException(`You can't use ClientRequestToken ${existing.id} because that value is already in use for a version of secret ${rec.arn}.`);
}
