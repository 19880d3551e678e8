// Reads for rekey's own components (the PostgreSQL proxy): a secret's AWSCURRENT / AWSPREVIOUS
// value without a caller, so without the caller's authorization (the reader is rekey itself, and
// the configuration named the secret). Reads wait during a single-user rotation's switching
// window exactly like GetSecretValue(AWSCURRENT), so a reader that failed to log in with the old password and
// reads again gets the password that works. The caller zeroes `value`.
import { zeroize } from '../crypto/index.ts';
import type { SecretsContext } from './context.ts';
import { notFound, requireNotDeleted } from './context.ts';
import { AWSCURRENT, AWSPREVIOUS, versionWithStage } from './model.ts';
import { waitForSwitch } from './operations/get-secret-value.ts';

export interface InternalSecretValue {
  arn: string;
  versionId: string;
  /** The SecretString bytes (UTF-8) or SecretBinary bytes. */
  value: Buffer;
  /**
   * AWSPREVIOUS: when it stopped being AWSCURRENT. Labels keep no history, so this is the later of
   * the last rotation's finish and the creation of the AWSCURRENT version: exact after a rotation
   * or a PutSecretValue; earlier than the truth (a shorter grace) after UpdateSecretVersionStage.
   */
  demotedAt?: Date;
}

export async function readStageInternal(ctx: SecretsContext, secretId: string, stage: typeof AWSCURRENT | typeof AWSPREVIOUS): Promise<InternalSecretValue | undefined> {
  let loaded = await ctx.find(secretId);
  if (!loaded) throw notFound();
  requireNotDeleted(loaded.rec);
  // both stages wait: while switching, AWSPREVIOUS is about to become the version AWSCURRENT leaves
  loaded = await waitForSwitch(ctx, secretId, loaded, true);
  const rec = loaded.rec;
  const v = versionWithStage(rec, stage);
  if (!v) return undefined;
  const value = await ctx.decrypt(rec, v, null);
  let demotedAt: Date | undefined;
  if (stage === AWSPREVIOUS) {
    const cur = versionWithStage(rec, AWSCURRENT);
    demotedAt = new Date(Math.max(rec.rotation?.lastRotated ?? 0, cur?.created ?? 0));
  }
  return { arn: rec.arn, versionId: v.id, value, ...(demotedAt ? { demotedAt } : {}) };
}

/** Parses a database secret (AWS's JSON: username, password, host, port, dbname) and zeroes the bytes. */
export function parseDbSecret(value: Buffer): { username: string; password: string; host?: string; port?: number; dbname?: string } {
  try {
    const o = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    if (typeof o.username !== 'string' || typeof o.password !== 'string') throw new Error('not a database secret');
    return {
      username: o.username, password: o.password,
      ...(typeof o.host === 'string' ? { host: o.host } : {}),
      ...(typeof o.port === 'number' || typeof o.port === 'string' ? { port: Number(o.port) } : {}),
      ...(typeof o.dbname === 'string' ? { dbname: o.dbname } : {}),
    };
  } catch {
    // no detail: the value must not reach a log
    throw new Error('the secret value is not a database secret (JSON with string username and password)');
  } finally {
    zeroize(value);
  }
}
