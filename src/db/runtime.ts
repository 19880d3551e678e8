// The running side of instances on this node: volumes, server processes (PostgreSQL or MariaDB, through
// their ServerEngine: src/db/server-engine.ts), endpoints, and
// supervision (a server that dies is restarted; after a rekey restart a running server is
// re-adopted). Jobs (src/db/jobs.ts) call bringUp/bringDown/destroy; nothing here writes storage.
//
// Files of an instance, under <db.dir>/<DbiResourceId>/:
//   cipher/          gocryptfs' encrypted directory (StorageEncrypted)
//   mnt/             its plaintext mount; the data directory is mnt/pgdata and the server log mnt/postgres.log
//                    (MariaDB: mnt/mysql, mnt/mariadb.log, mnt/my.cnf, mnt/tmp)
//   pgdata/, postgres.log   the same, unencrypted instances
//   run/             MariaDB's socket and pid file (owned by the server user)
//   .volume, .initdb markers: the volume / the cluster were completely made (a crash before leaves no marker,
//                    and the next attempt starts that part again from nothing)
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { zeroize } from '../crypto/index.ts';
import { TcpForwarder } from '../proxy/tcp-forwarder.ts';
import type { InstanceRecord } from './model.ts';
import { sharedBuffersMiB } from './model.ts';
import type { ServerUser } from './os-user.ts';
import { runningPostmaster, stopServerNow } from './pg-server.ts';
import type { DbEngine } from './api.ts';
import { postgresEngine } from './pg-engine.ts';
import { mariadbEngine } from './mariadb-server.ts';
import type { ServerEngine, ServerPaths } from './server-engine.ts';
import { initVolume, isMounted, mountVolume, unmountVolume, volumePaths, type VolumeTools } from './volume.ts';

const ENGINES: Record<DbEngine, ServerEngine> = { postgres: postgresEngine, mariadb: mariadbEngine };
export const engineOf = (rec: { engine?: DbEngine }): ServerEngine => ENGINES[rec.engine ?? 'postgres'];

export interface RuntimeOptions {
  dir: string;
  endpointHost: string;
  sharedBuffersCapMiB: number;
  tools: VolumeTools | string;
  user: ServerUser | string;
  log: (m: string) => void;
  /** Unlocks an instance's volume key (KMS Decrypt, audited). */
  unlock: (rec: InstanceRecord) => Promise<Buffer>;
  /** A supervised server could not be restarted. */
  onFailed: (id: string, reason: string) => void;
  /** The OS user of MariaDB servers (Debian: mysql); absent: `user`. */
  mariadbUser?: ServerUser | string;
  /** A MariaDB instance's extra settings (StorageEncrypted: the key-management plugin against rekey, src/db/mariadb-keys.ts). */
  mariadbSettings?: (rec: InstanceRecord) => Promise<Record<string, string>>;
}

/** How a new cluster is made: initdb with the master password, or (restores) files written into the empty data directory. */
export type ClusterSource = { masterPassword: Buffer } | { restore: (dataDir: string) => Promise<void> };

interface Running {
  pid: number;
  child?: ChildProcess;
  poll?: NodeJS.Timeout;
  restarts: number;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class Runtime {
  private readonly forwarders = new Map<string, TcpForwarder>();
  private readonly running = new Map<string, Running>();
  private closed = false;

  private dirReady = false;

  constructor(private readonly o: RuntimeOptions) {}

  /** <dir> made on first use; the server user may walk into <dir>/<id>/ (execute only: it can list nothing here). */
  private ensureDir(): void {
    if (this.dirReady) return;
    mkdirSync(this.o.dir, { recursive: true, mode: 0o711 });
    if (typeof this.o.user !== 'string' && this.o.user.uid !== undefined) {
      for (const d of [join(this.o.dir, '..'), this.o.dir]) chmodSync(d, statSync(d).mode | 0o001);
    }
    this.dirReady = true;
  }

  paths(rec: Pick<InstanceRecord, 'resourceId' | 'storageEncrypted' | 'volumeGen'> & { engine?: DbEngine }) {
    const root = join(this.o.dir, rec.volumeGen ? `${rec.resourceId}.g${rec.volumeGen}` : rec.resourceId);
    const vol = volumePaths(root);
    const base = rec.storageEncrypted ? vol.mountDir : root;
    const engine = engineOf(rec);
    return { root, ...vol, base, runDir: join(root, 'run'), dataDir: join(base, engine.dataDirName), logFile: join(base, engine.logName), volumeLog: join(root, 'gocryptfs.log') };
  }

  private serverPaths(rec: InstanceRecord): ServerPaths {
    const p = this.paths(rec);
    if (rec.engine === 'mariadb' && !existsSync(p.runDir)) {
      mkdirSync(p.runDir, { mode: 0o700 });
      this.ownBy(p.runDir, rec);
    }
    return p;
  }

  private requireUser(rec?: { engine?: DbEngine }): ServerUser {
    const u = rec?.engine === 'mariadb' ? this.o.mariadbUser ?? this.o.user : this.o.user;
    if (typeof u === 'string') throw new Error(u);
    return u;
  }

  private ownBy(path: string, rec: { engine?: DbEngine }): void {
    const u = this.requireUser(rec);
    if (u.uid !== undefined) chownSync(path, u.uid, u.gid!);
  }

  /** The instance's endpoint listener (created once; the port stays for the instance's life). */
  async endpoint(rec: Pick<InstanceRecord, 'id' | 'endpointPort'>): Promise<TcpForwarder> {
    let f = this.forwarders.get(rec.id);
    if (f) return f;
    f = new TcpForwarder({ host: this.o.endpointHost, port: rec.endpointPort, upstream: null });
    await f.listen();
    this.forwarders.set(rec.id, f);
    return f;
  }

  async destroyEndpoint(id: string): Promise<void> {
    const f = this.forwarders.get(id);
    this.forwarders.delete(id);
    await f?.close();
  }

  initialized(rec: Pick<InstanceRecord, 'resourceId' | 'storageEncrypted'>): boolean {
    return existsSync(join(this.paths(rec).root, '.initdb'));
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /**
   * Volume mounted (KMS unlock), cluster made (first time, with the master password), server up,
   * endpoint pointing at it. Idempotent: re-adopts what is already there.
   */
  async bringUp(rec: InstanceRecord, init?: ClusterSource): Promise<void> {
    const user = this.requireUser(rec);
    this.ensureDir();
    const p = this.paths(rec);
    mkdirSync(p.root, { recursive: true, mode: 0o711 });
    let unlockedNow = false;
    if (rec.storageEncrypted) {
      if (typeof this.o.tools === 'string') throw new Error(this.o.tools);
      const tools = this.o.tools;
      if (!isMounted(p.mountDir)) {
        const key = await this.o.unlock(rec);
        unlockedNow = true;
        try {
          if (!existsSync(join(p.root, '.volume'))) {
            rmSync(p.cipherDir, { recursive: true, force: true });
            await initVolume(tools, p, key, p.volumeLog);
            writeFileSync(join(p.root, '.volume'), '');
          }
          await mountVolume(tools, p, key, p.volumeLog, user.uid !== undefined);
        } finally {
          zeroize(key);
        }
      }
      // the mount's root is the cipher directory's (root, 0700) until it is given to the server
      // user; every time, as a crash may have come between mount and chown
      this.ownBy(p.mountDir, rec);
    }
    const engine = engineOf(rec);
    const sp = this.serverPaths(rec);
    const settings = await this.settingsOf(rec);
    if (!existsSync(join(p.root, '.initdb'))) {
      if (!init) throw new Error(`instance ${rec.id}: the cluster was never initialized and no master password is at hand`);
      if (await engine.killStrays(sp)) this.o.log(`db: ${rec.id}: stopped what a crashed initdb left running`);
      rmSync(p.dataDir, { recursive: true, force: true });
      mkdirSync(p.dataDir, { mode: 0o700 });
      this.ownBy(p.dataDir, rec);
      if ('restore' in init) await init.restore(p.dataDir); // [snapshots] a restore: the snapshot's files instead of initdb
      else await engine.init({ rec, paths: sp, user, masterPassword: Buffer.from(init.masterPassword), settings });
      writeFileSync(join(p.root, '.initdb'), '');
    }
    const fwd = await this.endpoint(rec);
    const adopted = engine.running(sp);
    if (adopted !== null) {
      this.watch(rec, { pid: adopted.pid, restarts: 0 });
      fwd.setUpstream({ host: '127.0.0.1', port: adopted.port });
      return;
    }
    if (rec.engine === 'mariadb' && rec.storageEncrypted && !unlockedNow) {
      // Never start an encrypted MariaDB server without its keys (a supervisor restart on a volume
      // still mounted would): Aria's crash recovery skips the tables it cannot decrypt and forgets
      // their log, and later repairs them from stale data files (accounts and passwords reverted;
      // docs/MARIADB.md). The KMS key must be usable now: a Decrypt, as the unlock of a volume does.
      zeroize(await this.o.unlock(rec));
    }
    const port = await freePort();
    const child = await engine.start({ rec, paths: sp, user, port, settings });
    this.watch(rec, { pid: child.pid!, child, restarts: 0 });
    fwd.setUpstream({ host: '127.0.0.1', port });
  }

  private async settingsOf(rec: InstanceRecord): Promise<Record<string, string>> {
    if (rec.engine !== 'mariadb') return this.serverSettings(rec);
    return {
      innodb_buffer_pool_size: `${sharedBuffersMiB(rec.instanceClass, this.o.sharedBuffersCapMiB)}M`,
      ...(this.o.mariadbSettings ? await this.o.mariadbSettings(rec) : {}),
    };
  }

  /** PostgreSQL's settings (besides port and listen address). */
  serverSettings(rec: InstanceRecord): Record<string, string> {
    return {
      shared_buffers: `${sharedBuffersMiB(rec.instanceClass, this.o.sharedBuffersCapMiB)}MB`, password_encryption: 'scram-sha-256',
      max_wal_size: '2GB', // RDS's default for PostgreSQL: fewer checkpoints, fewer full-page writes
      // on an encrypted volume, zero-filling each new 16 MB WAL segment is 16 MB more to encrypt and write for nothing
      ...(rec.storageEncrypted ? { wal_init_zero: 'off' } : {}),
    };
  }

  get serverUser(): ServerUser {
    return this.requireUser();
  }

  get volumeTools(): VolumeTools {
    if (typeof this.o.tools === 'string') throw new Error(this.o.tools);
    return this.o.tools;
  }

  /**
   * change-key's fence: the supervisor lets go of the server (it must not restart it), then an
   * immediate shutdown (no checkpoint: change-key has made sure the standby holds every commit
   * first). The volume stays mounted.
   */
  async stopForCutover(rec: InstanceRecord): Promise<void> {
    this.unwatch(rec.id);
    const pid = runningPostmaster(this.paths(rec).dataDir);
    if (pid !== null) await stopServerNow(pid);
  }

  /** Open connections through the instance's endpoint. */
  endpointConnections(id: string): number {
    return this.forwarders.get(id)?.connections ?? 0;
  }

  /** The server's own port (for rekey's admin connections), or null when not running. */
  serverPort(rec: InstanceRecord): number | null {
    const f = this.forwarders.get(rec.id);
    return f && this.running.has(rec.id) ? f.upstreamPort : null;
  }

  private watch(rec: InstanceRecord, r: Running): void {
    this.unwatch(rec.id);
    this.running.set(rec.id, r);
    const died = () => {
      if (this.running.get(rec.id) !== r || this.closed) return;
      this.unwatch(rec.id);
      this.forwarders.get(rec.id)?.setUpstream(null);
      if (r.restarts >= 5) {
        this.o.onFailed(rec.id, 'the server exited 5 times in a row');
        return;
      }
      this.o.log(`db: the server of ${rec.id} exited; restarting`);
      setTimeout(() => {
        if (this.closed || this.running.has(rec.id)) return;
        this.bringUp(rec).then(() => {
          const now = this.running.get(rec.id);
          if (now) now.restarts = r.restarts + 1;
        }, (e: unknown) => this.o.onFailed(rec.id, e instanceof Error ? e.message : String(e)));
      }, 500 * (r.restarts + 1)).unref();
    };
    if (r.child) r.child.once('exit', died);
    else r.poll = setInterval(() => { if (engineOf(rec).running(this.paths(rec))?.pid !== r.pid) died(); }, 1000).unref();
  }

  private unwatch(id: string): Running | undefined {
    const r = this.running.get(id);
    if (r?.poll) clearInterval(r.poll);
    this.running.delete(id);
    return r;
  }

  /** Server stopped (fast shutdown), endpoint refusing, volume unmounted (its key forgotten). */
  async bringDown(rec: InstanceRecord): Promise<void> {
    const p = this.paths(rec);
    this.unwatch(rec.id);
    const f = this.forwarders.get(rec.id);
    f?.setUpstream(null);
    f?.dropAll();
    const engine = engineOf(rec);
    const running = engine.running(p);
    if (running !== null) await engine.stop(running.pid);
    if (rec.storageEncrypted && typeof this.o.tools !== 'string') await unmountVolume(this.o.tools, p);
  }

  /** Everything of the instance gone from this node: server, mount, files, endpoint. */
  async destroy(rec: InstanceRecord): Promise<void> {
    await this.bringDown(rec);
    rmSync(this.paths(rec).root, { recursive: true, force: true });
    const f = this.forwarders.get(rec.id);
    this.forwarders.delete(rec.id);
    await f?.close();
  }

  /** rekey shuts down: endpoints close; servers stop and volumes unmount (they are started again, under a fresh KMS unlock, on the next start). */
  async close(records: InstanceRecord[]): Promise<void> {
    this.closed = true;
    for (const rec of records) {
      // running, or a volume left mounted (a failed create, a crashed predecessor's mount)
      const mounted = rec.storageEncrypted && isMounted(this.paths(rec).mountDir);
      if (!this.running.has(rec.id) && !mounted) continue;
      await this.bringDown(rec).catch((e: unknown) => this.o.log(`db: stopping ${rec.id}: ${e instanceof Error ? e.message : String(e)}`));
    }
    for (const f of this.forwarders.values()) await f.close();
    this.forwarders.clear();
  }
}
