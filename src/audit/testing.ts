// Helpers for the audit tests (not used by production code).
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from '../crypto/index.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { type AuditEvent, kmsApiEvent } from './event.ts';

export async function testBarrier(): Promise<{ backend: MemoryBackend; barrier: Barrier }> {
  const backend = new MemoryBackend();
  const root = randomBytes(32);
  await initializeSeal(backend, root, 'test');
  return { backend, barrier: await Barrier.unseal(backend, root) };
}

export const ACCOUNT = '111122223333';
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;
export const CALLER = { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accessKeyId: 'AKIAALICE000000000001' };

/** A plausible Encrypt event, distinct per i. */
export function sampleEvent(i: number, now = new Date(Date.UTC(2024, 4, 1, 12, 0, 0) + i * 1000)): AuditEvent {
  return kmsApiEvent({
    operation: 'Encrypt',
    input: { KeyId: KEY_ID, Plaintext: Buffer.from(`plaintext-${i}`).toString('base64'), EncryptionContext: { tenant: `t${i % 7}` } },
    output: { KeyId: KEY_ARN, CiphertextBlob: 'AQID', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    caller: CALLER,
    requestId: `req-${i}`,
    sourceIp: '10.0.0.1',
    userAgent: 'aws-cli/2.15',
    region: 'us-east-1',
    now,
  });
}

/** A syslog receiver on 127.0.0.1 that parses RFC 6587 octet-counted frames. */
export async function syslogServer(): Promise<{ server: Server; port: number; messages: string[]; sockets: Socket[]; raw: Buffer[]; close: () => Promise<void> }> {
  const messages: string[] = [];
  const sockets: Socket[] = [];
  const raw: Buffer[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      raw.push(d);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) break;
        const len = Number(buf.subarray(0, sp).toString('ascii'));
        if (!(Number.isSafeInteger(len) && len > 0)) throw new Error('bad octet count');
        if (buf.length < sp + 1 + len) break;
        messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buf = buf.subarray(sp + 1 + len);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { server, port, messages, sockets, raw, close };
}

