// BENCHMARKS ONLY: a server with authentication and authorization switched off, so bench/kms can
// measure what SigV4 verification and policy evaluation cost against the same server without them.
//
// Only the benchmark's server process reads REKEY_AUTH (bench/kms/server-child.ts); `rekey server`
// never does. Even then the server refuses to start unless REKEY_BENCH_UNSAFE_NO_AUTH=1 is also
// set, and says so loudly on stderr: every request then runs as the account root, unsigned.
import { ConfigurationError } from '../errors.ts';
import { rootArn, type Identity } from '../iam/identity.ts';

export const NO_AUTH_BANNER = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!!  REKEY_AUTH=off: AUTHENTICATION AND AUTHORIZATION ARE DISABLED (benchmarks only).        !!',
  '!!  Every request runs as the account root without a signature. Never expose this server.  !!',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n');

/** REKEY_AUTH: "on" (default) or "off". */
export function authSwitch(env: NodeJS.ProcessEnv): 'on' | 'off' {
  const v = env['REKEY_AUTH'] ?? 'on';
  if (v !== 'on' && v !== 'off') throw new ConfigurationError(`REKEY_AUTH must be "on" or "off", not ${JSON.stringify(v)}`);
  return v;
}

/** Throws ConfigurationError unless the no-auth mode was asked for twice, on purpose. */
export function requireUnsafeNoAuthConsent(env: NodeJS.ProcessEnv): void {
  if (env['REKEY_BENCH_UNSAFE_NO_AUTH'] !== '1') {
    throw new ConfigurationError('REKEY_AUTH=off is for benchmarks only and also needs REKEY_BENCH_UNSAFE_NO_AUTH=1; refusing to start without authentication.');
  }
}

/** The identity every request runs as in no-auth mode: the account root. */
export function noAuthIdentity(accountId: string, partition = 'aws'): Identity {
  return { accountId, arn: rootArn(accountId, partition), accessKeyId: 'NOAUTH', type: 'Root', principalId: accountId, identityPolicies: [] };
}

/** REKEY_AUDIT=off (benchmarks only): refuses unless REKEY_BENCH_UNSAFE_NO_AUDIT=1 is also set. */
export function requireUnsafeNoAuditConsent(env: NodeJS.ProcessEnv): void {
  if (env['REKEY_BENCH_UNSAFE_NO_AUDIT'] !== '1') {
    throw new ConfigurationError('REKEY_AUDIT=off is for benchmarks only and also needs REKEY_BENCH_UNSAFE_NO_AUDIT=1; refusing to start without auditing.');
  }
}
