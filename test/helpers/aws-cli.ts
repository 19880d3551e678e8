// The real AWS CLI, where it is installed, pointed at a rekey endpoint with the test credentials
// and no user configuration (no ~/.aws files, no pager).
import { spawn, spawnSync } from 'node:child_process';
import { TEST_CREDS } from './server.ts';

export const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * false (run the tests) or the reason to skip them. With CI=true nothing skips, as the MySQL tests
 * (test/helpers/mysql.ts): a missing CLI fails the test instead (.ci/run installs it).
 */
export function awsCliSkipReason(env: NodeJS.ProcessEnv = process.env, installed = hasAwsCli): string | false {
  if (installed) return false;
  return env.CI === 'true' ? false : 'the AWS CLI is not installed';
}

/** Under CI=true without the CLI: the error the test fails with, saying what to do. */
export function requireAwsCli(installed = hasAwsCli): void {
  if (!installed) throw new Error('the AWS CLI is not installed: CI=true does not skip it (.ci/run installs the Debian package awscli)');
}

export interface CliResult { status: number | null; out: string; err: string }

/**
 * Runs `aws <service> <args> --endpoint-url <url> --output text`. Asynchronous on purpose: the
 * server under test runs in this process, so a synchronous spawn would block it. The
 * environment's own AWS_CA_BUNDLE (if any) stays: it is the system bundle, which does not know
 * rekey's CA (tests over HTTPS pass --ca-bundle).
 */
export function awsCli(service: string, url: string, args: string[]): Promise<CliResult> {
  requireAwsCli();
  const env: NodeJS.ProcessEnv = {
    ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
    AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '',
  };
  const child = spawn('aws', [service, ...args, '--endpoint-url', url, '--output', 'text'], { timeout: 60_000, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, out: out.trim(), err: err.trim() })));
}
