// Temporary credentials issued by STS (GetSessionToken, AssumeRole): ASIA... access key id,
// secret, session token and expiry, stored through the barrier so every node can verify them.
import type { Barrier } from '../storage/barrier.ts';
import { randomBytes } from '../crypto/index.ts';
import { TtlCache, DEFAULT_TTL_MS } from './cache.ts';
import { newSecretAccessKey } from './access-keys.ts';
import { PATHS, uniqueId, type SessionRecord } from './model.ts';

export function newSessionToken(): string {
  return randomBytes(96).toString('base64');
}

/** A fresh ASIA... id, secret and token; the caller fills in who the session is for. */
export function newSessionCredentials(): Pick<SessionRecord, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'> {
  return { accessKeyId: uniqueId('ASIA', 16), secretAccessKey: newSecretAccessKey(), sessionToken: newSessionToken() };
}

export class SessionStore {
  private readonly cache: TtlCache<SessionRecord>;

  constructor(private readonly barrier: Barrier, ttlMs = DEFAULT_TTL_MS, private readonly now: () => number = Date.now) {
    this.cache = new TtlCache(ttlMs, now);
  }

  /** The cached session without reading storage: null when known absent, undefined when not cached (or stale). */
  peek(id: string): SessionRecord | null | undefined {
    return this.cache.peek(id);
  }

  async put(rec: SessionRecord): Promise<void> {
    await this.barrier.putJSON(PATHS.session(rec.accessKeyId), rec, { expectVersion: 0 });
    this.cache.set(rec.accessKeyId, rec);
  }

  async get(id: string): Promise<SessionRecord | null> {
    if (!/^ASIA[A-Z0-9]{12,124}$/.test(id)) return null;
    return this.cache.get(id, async () => (await this.barrier.getJSON<SessionRecord>(PATHS.session(id)))?.value ?? null);
  }

  async revoke(id: string): Promise<void> {
    await this.barrier.delete(PATHS.session(id));
    this.cache.set(id, null);
  }

  /**
   * Deletes sessions that expired more than `graceMs` ago (kept a while so a late request gets
   * ExpiredTokenException rather than an invalid-token error). Meant for a periodic job.
   */
  async purgeExpired(graceMs = 24 * 3600_000): Promise<number> {
    let n = 0;
    const cutoff = this.now() - graceMs;
    for (const k of await this.barrier.list(PATHS.sessions)) {
      const e = await this.barrier.getJSON<SessionRecord>(k);
      if (e && e.value.expiresAt < cutoff) {
        await this.barrier.delete(k, { expectVersion: e.version });
        this.cache.delete(e.value.accessKeyId);
        n++;
      }
    }
    return n;
  }
}
