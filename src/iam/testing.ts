// Test helpers: an IamService over an in-memory store, a settable clock, signed requests.
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { randomBytes } from '../crypto/index.ts';
import { IamService } from './service.ts';
import { signRequest, type SigningCredentials } from './sigv4-sign.ts';
import type { SignedRequest } from './sigv4.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

export class TestClock {
  constructor(public ms = Date.UTC(2024, 4, 1, 10, 0, 0)) {}
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

export async function testBarrier(): Promise<{ barrier: Barrier; backend: MemoryBackend }> {
  const backend = new MemoryBackend();
  const root = randomBytes(32);
  await initializeSeal(backend, root, 'test');
  return { backend, barrier: await Barrier.unseal(backend, root) };
}

export async function testIam(o: { clock?: TestClock; barrier?: Barrier; ttlMs?: number } = {}) {
  const clock = o.clock ?? new TestClock();
  const barrier = o.barrier ?? (await testBarrier()).barrier;
  const iam = new IamService({ barrier, accountId: ACCOUNT, region: REGION, clock: clock.now, ...(o.ttlMs !== undefined ? { cacheTtlMs: o.ttlMs } : {}) });
  const admin = await iam.bootstrap();
  return { iam, clock, barrier, admin: admin.rec };
}

/** A request signed now for `service`, as a verifier receives it. */
export function signed(creds: SigningCredentials, o: { service?: string; now: Date; body?: string; path?: string; method?: string; headers?: Record<string, string>; region?: string }): SignedRequest {
  const body = o.body ?? '{}';
  const path = o.path ?? '/';
  const q = path.indexOf('?');
  const headers = signRequest(
    { method: o.method ?? 'POST', host: 'localhost:8370', path: q < 0 ? path : path.slice(0, q), query: q < 0 ? '' : path.slice(q + 1), headers: o.headers ?? { 'content-type': 'application/x-amz-json-1.1' }, body },
    creds, { region: o.region ?? REGION, service: o.service ?? 'kms', now: o.now },
  );
  return { method: o.method ?? 'POST', path: q < 0 ? path : path.slice(0, q), query: q < 0 ? '' : path.slice(q + 1), headers, body: Buffer.from(body) };
}
