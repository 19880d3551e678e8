// Test support for the KMS unit tests: a KmsService (with its IamService) over MemoryBackend +
// Barrier, a settable clock, and assertions on error name and message. `call` runs as the account
// root (allowed by every default key policy); `callAs` as any identity, e.g. from `user()`.
import assert from 'node:assert/strict';
import { randomBytes } from '../crypto/index.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { KmsService, type Caller } from './service.ts';
import { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import { compilePolicy } from '../iam/policy/compile.ts';
import type { KeyMetadata } from './wire.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const CALLER: Caller = { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accessKeyId: 'AKIAREKEYTEST0000001', type: 'Root', principalId: ACCOUNT, identityPolicies: [] };

/** An IAM user of the test account with these inline policy documents (objects or JSON text). */
export function user(name: string, ...policies: unknown[]): Identity {
  return {
    accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, accessKeyId: `AKIA${name.toUpperCase().padEnd(16, 'X').slice(0, 16)}`,
    type: 'IAMUser', principalId: `AIDA${name.toUpperCase()}`, userName: name,
    identityPolicies: policies.map((p) => compilePolicy(typeof p === 'string' ? p : JSON.stringify(p), 'identity')),
  };
}

/** An identity policy allowing these actions on every resource. */
export const allow = (...actions: string[]) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });
export const T0 = Date.parse('2026-01-15T12:00:00.000Z');
export const DAY = 86_400_000;

export interface Harness {
  kms: KmsService;
  backend: MemoryBackend;
  barrier: Barrier;
  /** Current time of the injected clock (epoch ms). */
  now(): number;
  advance(ms: number): void;
  call(op: string, input?: unknown): Promise<Record<string, unknown>>;
  callAs(who: Identity, op: string, input?: unknown): Promise<Record<string, unknown>>;
  iam: IamService;
  createKey(input?: Record<string, unknown>): Promise<KeyMetadata>;
}

export async function harness(opts: { onDemandRotationLimit?: number; cacheTtlMs?: number; backend?: MemoryBackend; root?: Buffer } = {}): Promise<Harness> {
  const backend = opts.backend ?? new MemoryBackend();
  const root = opts.root ?? randomBytes(32);
  await initializeSeal(backend, root, 'test');
  const barrier = await Barrier.unseal(backend, root);
  let t = T0;
  const iam = new IamService({ barrier, accountId: ACCOUNT, region: REGION, clock: () => new Date(t) });
  const kms = new KmsService({
    barrier, region: REGION, accountId: ACCOUNT, clock: () => new Date(t), iam,
    ...(opts.onDemandRotationLimit !== undefined ? { onDemandRotationLimit: opts.onDemandRotationLimit } : {}),
    ...(opts.cacheTtlMs !== undefined ? { cacheTtlMs: opts.cacheTtlMs } : {}),
  });
  const call = (op: string, input: unknown = {}) => kms.call(op, input, CALLER);
  const callAs = (who: Identity, op: string, input: unknown = {}) => kms.call(op, input, who, { sourceIp: '192.0.2.10', secureTransport: true });
  return {
    kms, backend, barrier, call, callAs, iam,
    now: () => t,
    advance: (ms) => { t += ms; },
    async createKey(input = {}) {
      const r = await call('CreateKey', input);
      return r['KeyMetadata'] as KeyMetadata;
    },
  };
}

/** Asserts that `p` rejects with an error of this name and exactly this message (or matching this pattern, when given). */
export async function rejects(p: Promise<unknown>, name: string, message?: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
    assert.equal(e.name, name, `error name (message: ${e.message})`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
    return true;
  });
}

export const b64 = (v: string | Uint8Array): string => Buffer.from(v).toString('base64');
export const unb64 = (v: unknown): Buffer => Buffer.from(String(v), 'base64');
export const arnOf = (keyId: string): string => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
export const aliasArnOf = (name: string): string => `arn:aws:kms:${REGION}:${ACCOUNT}:${name}`;
/** A well-formed key id that no key has. */
export const MISSING_KEY_ID = '00000000-1111-2222-3333-444444444444';
