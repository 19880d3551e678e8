// The `rekey` command in a child process with the test credentials (asynchronous: the server under
// test runs in this process). AWS_CA_BUNDLE is cleared so only --ca-bundle decides trust.
import { spawn } from 'node:child_process';
import { TEST_CREDS } from './server.ts';
import type { CliResult } from './aws-cli.ts';

export function rekeyCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['bin/rekey.mjs', ...args], {
    timeout: 60_000,
    env: { ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, AWS_REGION: 'us-east-1', AWS_CA_BUNDLE: '', ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, out, err })));
}
