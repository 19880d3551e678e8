// A forked rekey bench server made ready for an Encrypt load: its port (reported over IPC), one
// key, and the signed request (headers and body) autocannon replays; and a process's CPU time.
// Shared by bench/kms's A/B runs and profile-server.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';

export const BENCH_CREDS = { accessKeyId: 'AKIAREKEYBENCH000001', secretAccessKey: 'bench-secret-bench-secret-bench-secret-01' };
const region = 'us-east-1';

export async function encryptTarget(child: ChildProcess, label: string): Promise<{ port: number; body: string; headers: Record<string, string> }> {
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (c) => reject(new Error(`${label} exited ${c}`)));
  });
  const kms = new KMSClient({ endpoint: `http://127.0.0.1:${port}`, region, credentials: BENCH_CREDS });
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
  const body = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(1024, 7).toString('base64') });
  const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', body,
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' } });
  const headers = (await new SignatureV4({ credentials: BENCH_CREDS, region, service: 'kms', sha256: Sha256 }).sign(req)).headers as Record<string, string>;
  return { port, body, headers };
}

/** utime + stime of a process in ms (/proc/<pid>/stat fields 14 and 15, 10 ms ticks). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
