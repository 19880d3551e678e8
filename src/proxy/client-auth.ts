// Cleartext-password client authentication (TLS only): an IAM database authentication token
// (`@aws-sdk/rds-signer`), or, on `password+iam` targets, the mapped secret's password checked
// against the same SCRAM keys as the SCRAM exchange (so AWSPREVIOUS's grace period applies too).
import { constantTimeEqual } from '../crypto/index.ts';
import { scramKeys } from '../crypto/scram.ts';
import type { ClientContext, LoginMaterial } from './client-context.ts';
import { iamEndpoints } from './config.ts';

export type CleartextResult =
  | { ok: true; secretId: string; method: 'iam' | 'password'; principalArn?: string }
  | { ok: false; sqlstate: string; message: string; reason: string; method: 'iam' | 'password' };

/** Shaped like an RDS IAM token (`<host>:<port>/?Action=connect&...&X-Amz-Signature=...`); the verifier checks the rest. */
export function looksLikeIamToken(password: string): boolean {
  return password.length <= 8192 && /^[^/?&\s]+\/\?/.test(password) && password.includes('X-Amz-Signature=');
}

export async function checkCleartext(ctx: ClientContext, user: string, password: string, material: LoginMaterial | undefined, remoteIp: string): Promise<CleartextResult> {
  const iamAllowed = ctx.cfg.auth !== 'password';
  if (iamAllowed && (ctx.cfg.auth === 'iam' || looksLikeIamToken(password))) {
    const failed = (why: string) => ({ ok: false as const, sqlstate: '28000', message: `IAM authentication failed for user "${user}": ${why}`, reason: why, method: 'iam' as const });
    if (!ctx.iam) return failed('IAM authentication is not configured on this proxy');
    let principalArn: string;
    try {
      ({ principalArn } = await ctx.iam.verifyIamToken({ token: password, user, expectedHosts: iamEndpoints(ctx.cfg.iamHosts, ctx.listenPort), resourceId: ctx.cfg.resourceId, sourceIp: remoteIp }));
    } catch (e) {
      // the verifier's messages never contain the token (src/iam/db-auth-token.ts); anything else stays generic
      const known = e instanceof Error && /Exception$/.test(e.name);
      if (!known) ctx.log?.(e);
      return failed(known ? (e as Error).message : 'internal error while verifying the token');
    }
    // the database login still uses a secret that names this user (either user of an alternating
    // pair), or, decoupled, the database secret of the application logging in as `user`
    const secretId = material?.secretId ?? await ctx.iamSecretFor(user);
    if (!secretId) {
      return ctx.decoupled
        ? { ...failed(`no application of this proxy target logs in as "${user}"`), reason: 'no application for the user' }
        : { ...failed(`no secret of this proxy target holds the database user "${user}"`), reason: 'no secret for the user' };
    }
    return { ok: true, secretId, method: 'iam', principalArn };
  }
  const bad = { ok: false as const, sqlstate: '28P01', message: `password authentication failed for user "${user}"`, reason: 'password authentication failed', method: 'password' as const };
  if (!material) {
    scramKeys(password, ctx.mockSalt(user), 4096); // same work as a known user
    return bad;
  }
  const k = scramKeys(password, material.salt, material.iterations);
  let match = false;
  for (const c of material.candidates) match = constantTimeEqual(k.storedKey, c.storedKey) || match;
  return match ? { ok: true, secretId: material.secretId, method: 'password' } : bad;
}
