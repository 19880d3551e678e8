// The certificate component: the API's TLS certificate, from files or from rekey's own CA.
//
// Generated mode: a P-256 CA is created once (CAS on certs/ca, so one node of a cluster wins) and
// kept behind the barrier; it issues the server certificate (SANs from the configuration). Each
// node checks every `checkIntervalMs`: it adopts a certificate another node stored, and replaces
// the certificate 2/3 into its lifetime (or when a configured SAN is missing). The replacement is
// a compare-and-swap on certs/server: one node issues, the others pick it up on their next check.
// Files mode: the certificate and key are read from files and re-read when their mtime changes
// (or on reload(), which `rekey server` calls on SIGHUP).
// Listeners (onRotated) get the new context; the HTTP server swaps it in with setSecureContext, so
// open connections keep their session and new handshakes get the new certificate.
// rekey's CA itself rotates in three phases (ca-rotation.ts): each node re-reads certs/ca on every
// check, so the trust bundle (caBundle(), the context's `ca`) and the signing CA converge too.
import { generateCa, issueCertificate, parseCertificate, isSignedBy, type PemPair, type CertificateInfo } from '../crypto/x509.ts';
import { readTlsFiles, stampOf } from './files.ts';
import { newServerCert, type IssuedServerCert } from './server-cert.ts';
import { Barrier } from '../storage/barrier.ts';
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { CasConflict } from '../storage/backend.ts';
import { ConfigurationError, ValidationException } from '../errors.ts';
import {
  CA_PATH, SERVER_PATH, HISTORY_PREFIX, type CaRecord, type CaTrigger, type ServerCertRecord, type HistoryEntry, type IssueReason, type CertView,
  historyEntryOf, historyKey, normalizeSan, renewAtOf, sansOf, viewOf,
} from './model.ts';
import { DEFAULT_CA_OVERLAP_MS, advanceCa, caRenewAtOf, checkStep, dueCaStep, rotationView, stepCas, trustBundle, type CaRotationView, type CaStep } from './ca-rotation.ts';

const DAY_MS = 86_400_000;

export interface TlsContext {
  cert: string;
  /** Secret: the private key PEM. */
  key: string;
  /** CA certificates for verifying client certificates (mTLS) and for clients' trust bundles. */
  ca?: string;
}

export type CertEvent =
  | { type: 'CreateCertificateAuthority'; serial: string; notAfter: string; at: Date }
  | { type: 'IssueCertificate'; serial: string; notAfter: string; sans: string[]; purpose: 'server' | 'client' | 'other'; reason: IssueReason | 'requested'; at: Date }
  | { type: 'RotateCertificate'; serial: string; notAfter: string; replaced: string; reason: IssueReason; at: Date }
  /** A CA rotation phase: serial is the new CA, replaced the old one. */
  | { type: 'RotateCertificateAuthority'; phase: 1 | 2 | 3; serial: string; notAfter: string; replaced: string; trigger: CaTrigger; at: Date };

export interface CertServiceOptions {
  barrier: Barrier;
  node: string;
  mode: 'generated' | 'files';
  /** Generated mode: the server certificate's SANs (DNS names and IP addresses). */
  sans?: readonly string[];
  certLifetimeMs?: number;
  caLifetimeMs?: number;
  /** How long each CA rotation phase lasts before the next begins by itself (default 30 days). */
  caOverlapMs?: number;
  checkIntervalMs?: number;
  /** Files mode. */
  certFile?: string;
  keyFile?: string;
  /** Files mode: CA bundle for client certificates (mTLS). */
  clientCaFile?: string;
  clock?: () => Date;
  onEvent?: (e: CertEvent) => void;
  onError?: (message: string) => void;
}

export interface CertStatus {
  mode: 'generated' | 'files';
  server: CertView;
  /** The signing CA; renewAt: when its rotation starts by itself. */
  ca?: CertView;
  /** Generated mode: the CAs in the trust bundle and the rotation phase. */
  caRotation?: CaRotationView;
  history: HistoryEntry[];
}

/** What the admin API's certificate routes call: the service, or one mutating call's view of it (forCall). */
export type CertAdmin = Pick<CertService, 'status' | 'rotate' | 'rotateCa' | 'issue'>;

export class CertService {
  private ctx!: TlsContext;
  private info!: CertificateInfo;
  private serverVersion = 0;
  private server: ServerCertRecord | null = null;
  private ca: CaRecord | null = null;
  private caVersion = 0;
  private fileStamp = '';
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly listeners = new Set<(ctx: TlsContext) => void>();
  private readonly clock: () => Date;
  readonly mode: 'generated' | 'files';

  constructor(private readonly o: CertServiceOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.mode = o.mode;
  }

  private get lifetimeMs() { return this.o.certLifetimeMs ?? 90 * DAY_MS; }
  private get overlapMs() { return this.o.caOverlapMs ?? DEFAULT_CA_OVERLAP_MS; }

  /** Loads (or creates) the CA and the server certificate. Call once before serverContext(). */
  async init(): Promise<void> {
    if (this.mode === 'files') {
      this.loadFiles(true);
      return;
    }
    await this.syncCa();
    await this.syncServer();
  }

  /** The current context for tls.createSecureContext / https.Server#setSecureContext. */
  serverContext(): TlsContext {
    return { ...this.ctx };
  }

  /** Called with the new context after every rotation or reload. Returns an unsubscribe function. */
  onRotated(cb: (ctx: TlsContext) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /**
   * rekey's CA certificate (PEM) for clients' trust bundles (--ca-bundle); during a CA rotation
   * (phases 1 and 2) both CAs, concatenated. Files mode: the client CA file, if any.
   */
  caBundle(): string | undefined {
    return this.ctx.ca;
  }

  /** When the certificates this node serves expire (the metrics read it; no I/O). */
  expiries(): { server?: Date; ca?: Date } {
    return {
      ...(this.info ? { server: this.info.notAfter } : {}),
      ...(this.ca ? { ca: parseCertificate(this.ca.certPem).notAfter } : {}),
    };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => { void this.check().catch((e: unknown) => this.o.onError?.(`certs: check failed: ${(e as Error).message}`)); }, this.o.checkIntervalMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking?.catch(() => {});
  }

  /** One periodic check: adopt another node's certificate, reload changed files, rotate when due. Runs one at a time. */
  check(): Promise<void> {
    this.checking ??= (async () => {
      try {
        if (this.mode === 'files') this.loadFiles(false);
        else {
          await this.syncCa();
          const due = dueCaStep(this.requireCa(), this.clock(), this.overlapMs);
          if (due) await this.caStep(due.step, due.trigger, false);
          await this.syncServer();
        }
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  /** Files mode: re-read the files now (SIGHUP). Generated mode: same as check(). */
  async reload(): Promise<void> {
    if (this.mode === 'files') {
      this.fileStamp = '';
      this.loadFiles(false);
    } else await this.check();
  }

  /**
   * The operator's controls as one mutating admin call sees them (src/storage/gate.ts): a step the
   * CA rotation refuses, or files mode, is refused before anything is written; the call's audit
   * event is recorded right before the first write (an issued certificate: before it is signed).
   */
  forCall(gate: WriteGate): CertAdmin {
    const store = gatedBarrier(this.o.barrier, gate);
    return {
      status: (limit) => this.status(limit),
      rotate: (reason) => this.rotate(reason, store),
      rotateCa: (step, trigger) => this.rotateCa(step, trigger, store),
      issue: async (p) => this.issue(p, gate),
    };
  }

  /** Replaces the server certificate now (generated mode), whatever its age. */
  async rotate(reason: IssueReason = 'manual', store: BarrierView = this.o.barrier): Promise<CertView> {
    if (this.mode !== 'generated') throw new ValidationException('The server certificate comes from files (tls.mode "files"): replace the files and send SIGHUP, or wait for the next check.');
    const cur = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
    await this.issueServer(reason, cur, store);
    return viewOf(this.info);
  }

  /**
   * A certificate from rekey's CA for other names (the proxy's listener, a client certificate for
   * mTLS with the principal ARN as a URI SAN). Returns the key once; it is not stored.
   */
  async issue(p: { commonName: string; sans?: readonly string[]; uris?: readonly string[]; usage: 'server' | 'client'; lifetimeMs?: number }, gate?: WriteGate): Promise<PemPair & { caPem: string }> {
    const ca = this.requireCa();
    await gate?.pass();
    const now = this.clock();
    const pair = await issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: p.commonName, sans: p.sans ?? [], uris: p.uris ?? [], notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + (p.lifetimeMs ?? this.lifetimeMs)), usage: p.usage });
    const info = parseCertificate(pair.certPem);
    this.o.onEvent?.({ type: 'IssueCertificate', serial: info.serial, notAfter: info.notAfter.toISOString(), sans: sansOf(info), purpose: p.usage === 'client' ? 'client' : 'other', reason: 'requested', at: now });
    return { ...pair, caPem: trustBundle(ca) };
  }

  async status(limit = 50): Promise<CertStatus> {
    const keys = await this.o.barrier.list(HISTORY_PREFIX);
    const history: HistoryEntry[] = [];
    for (const k of keys.slice(-limit).reverse()) {
      const e = await this.o.barrier.getJSON<HistoryEntry>(k);
      if (e) history.push(e.value);
    }
    return {
      mode: this.mode,
      server: viewOf(this.info, this.mode === 'generated' ? renewAtOf(this.info) : undefined),
      ...(this.ca ? { ca: viewOf(parseCertificate(this.ca.certPem), caRenewAtOf(parseCertificate(this.ca.certPem), this.overlapMs)), caRotation: rotationView(this.ca, this.overlapMs) } : {}),
      history,
    };
  }

  // ---- generated mode

  private requireCa(): CaRecord {
    if (!this.ca) throw new ValidationException('rekey has no certificate authority: tls.mode is "files".');
    return this.ca;
  }

  /** Reads certs/ca (creating the first CA if there is none) and adopts it when it changed. */
  private async syncCa(): Promise<void> {
    const got = await this.o.barrier.getJSON<CaRecord>(CA_PATH);
    if (got) {
      if (got.version !== this.caVersion) this.adoptCa(got.value, got.version);
      return;
    }
    const now = this.clock();
    const rec: CaRecord = { ...(await this.newCa(now)), createdAt: now.toISOString() };
    try {
      await this.o.barrier.putJSON(CA_PATH, rec, { expectVersion: 0 });
    } catch (e) {
      if (!(e instanceof CasConflict)) throw e;
      const other = await this.o.barrier.getJSON<CaRecord>(CA_PATH);
      if (!other) throw e;
      this.adoptCa(other.value, other.version); // another node created it first
      return;
    }
    this.adoptCa(rec, 1);
    const info = parseCertificate(rec.certPem);
    this.o.onEvent?.({ type: 'CreateCertificateAuthority', serial: info.serial, notAfter: info.notAfter.toISOString(), at: now });
  }

  private newCa(now: Date) {
    // a rotated CA is named by its day, so the two CAs of a bundle are told apart (and by subject)
    return generateCa({ commonName: this.ca ? `rekey CA ${now.toISOString().slice(0, 10)}` : 'rekey CA', notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + (this.o.caLifetimeMs ?? 3650 * DAY_MS)) });
  }

  private adoptCa(rec: CaRecord, version: number): void {
    this.ca = rec;
    this.caVersion = version;
    // the trust bundle changed (a CA rotation phase): new handshakes verify client certificates against it
    if (this.server && this.ctx && this.ctx.ca !== trustBundle(rec)) this.set({ cert: this.ctx.cert, key: this.ctx.key, ca: trustBundle(rec) }, true);
  }

  /**
   * Moves rekey's CA rotation one phase on (ca-rotation.ts): `start` (phase 1, a new CA in the
   * bundle), `complete` (phase 2, the server certificate from the new CA, in the same transaction)
   * or `finish` (phase 3, the old CA leaves the bundle). A CAS on certs/ca: when another node moved
   * first, an operator's request is checked again against the phase it moved to.
   */
  async rotateCa(step: CaStep, trigger: CaTrigger = 'manual', store: BarrierView = this.o.barrier): Promise<CaRotationView> {
    if (this.mode !== 'generated') throw new ValidationException('rekey\'s CA is not used: tls.mode is "files" (the certificate and its CA come from your files).');
    await this.caStep(step, trigger, true, store);
    return rotationView(this.requireCa(), this.overlapMs);
  }

  private async caStep(step: CaStep, trigger: CaTrigger, operator: boolean, store: BarrierView = this.o.barrier): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.o.barrier.getJSON<CaRecord>(CA_PATH);
      if (!cur) throw new ValidationException('rekey has no certificate authority yet.');
      if (cur.version !== this.caVersion) this.adoptCa(cur.value, cur.version);
      const now = this.clock();
      if (!operator && dueCaStep(cur.value, now, this.overlapMs)?.step !== step) return; // another node moved first
      checkStep(cur.value, step);
      const newCa = step === 'start' ? { ...(await this.newCa(now)), createdAt: now.toISOString() } : undefined;
      const next = advanceCa(cur.value, step, now, trigger, newCa);
      const { oldCa, newCa: inCa } = stepCas(cur.value, next);
      const phase = step === 'start' ? 1 : step === 'complete' ? 2 : 3;
      const caEntry = historyEntryOf(inCa, now, step === 'start' ? 'ca-publish' : step === 'complete' ? 'ca-switch' : 'ca-finish', this.o.node, parseCertificate(oldCa).serial, trigger);
      // 'ca…' sorts after a certificate serial (hex, 0-7 first) of the same millisecond: the phase is listed first (newest first)
      const ops = [Barrier.putOp(CA_PATH, next, cur.version), Barrier.putOp(historyKey(now, `ca${phase}-${caEntry.serial}`), caEntry, 0)];
      // phase 2: the server certificate moves to the new CA in the same transaction
      const srv = step === 'complete' ? await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH) : null;
      const issued = srv ? await this.newServerCert('ca-changed', srv.value, next, now) : null;
      if (srv && issued) ops.push(Barrier.putOp(SERVER_PATH, issued.rec, srv.version), Barrier.putOp(historyKey(now, issued.entry.serial), issued.entry, 0));
      try {
        await store.transaction(ops);
      } catch (e) {
        if (!(e instanceof CasConflict)) throw e;
        if (!operator || attempt >= 2) {
          await this.syncCa();
          if (operator) throw e;
          return;
        }
        continue;
      }
      if (step === 'start') {
        const info = parseCertificate(inCa);
        this.o.onEvent?.({ type: 'CreateCertificateAuthority', serial: info.serial, notAfter: info.notAfter.toISOString(), at: now });
      }
      this.adoptCa(next, cur.version + 1);
      this.o.onEvent?.({ type: 'RotateCertificateAuthority', phase, serial: caEntry.serial, notAfter: caEntry.notAfter, replaced: caEntry.replaced!, trigger, at: now });
      if (srv && issued) this.serverIssued(issued, srv.version + 1, now);
      return;
    }
  }

  /** Adopts the stored certificate when it is newer than ours; issues one when none is usable or it is due. */
  private async syncServer(): Promise<void> {
    let cur = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
    if (cur && cur.version !== this.serverVersion) this.adopt(cur.value, cur.version);
    let reason = this.dueReason(cur?.value);
    if (reason === 'ca-changed') {
      // another node may have moved the CA (and the certificate) since this check read certs/ca
      await this.syncCa();
      cur = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
      if (cur && cur.version !== this.serverVersion) this.adopt(cur.value, cur.version);
      reason = this.dueReason(cur?.value);
    }
    if (reason) await this.issueServer(reason, cur);
  }

  private dueReason(rec: ServerCertRecord | undefined): IssueReason | null {
    if (!rec) return 'initial';
    const info = parseCertificate(rec.certPem);
    const now = this.clock();
    if (now >= info.notAfter) return 'expired';
    if (!isSignedBy(rec.certPem, this.requireCa().certPem)) return 'ca-changed';
    const have = new Set(sansOf(info));
    if ((this.o.sans ?? []).some((s) => !have.has(normalizeSan(s)))) return 'sans-changed';
    if (now >= renewAtOf(info)) return 'scheduled';
    return null;
  }

  private async issueServer(reason: IssueReason, cur: { value: ServerCertRecord; version: number } | null, store: BarrierView = this.o.barrier): Promise<void> {
    const now = this.clock();
    const issued = await this.newServerCert(reason, cur?.value, this.requireCa(), now);
    try {
      await store.transaction([
        Barrier.putOp(SERVER_PATH, issued.rec, cur ? cur.version : 0),
        Barrier.putOp(historyKey(now, issued.entry.serial), issued.entry, 0),
      ]);
    } catch (e) {
      if (!(e instanceof CasConflict)) throw e;
      // another node rotated first: use its certificate
      const won = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
      if (won && won.version !== this.serverVersion) this.adopt(won.value, won.version);
      return;
    }
    // a CAS put bumps the version by exactly one (src/storage/backend.ts)
    this.serverIssued(issued, cur ? cur.version + 1 : 1, now);
  }

  private newServerCert(reason: IssueReason, current: ServerCertRecord | undefined, ca: CaRecord, now: Date) {
    return newServerCert({ reason, current, ca, sans: this.o.sans ?? [], lifetimeMs: this.lifetimeMs, node: this.o.node, now });
  }

  private serverIssued(issued: IssuedServerCert, version: number, now: Date): void {
    const { rec, entry, prev, reason } = issued;
    this.adopt(rec, version);
    const base = { serial: entry.serial, notAfter: entry.notAfter, at: now };
    this.o.onEvent?.({ type: 'IssueCertificate', ...base, sans: entry.sans, purpose: 'server', reason });
    if (prev) this.o.onEvent?.({ type: 'RotateCertificate', ...base, replaced: prev.serial, reason });
  }

  private adopt(rec: ServerCertRecord, version: number): void {
    const first = this.serverVersion === 0 && !this.ctx;
    this.serverVersion = version;
    this.server = rec;
    this.set({ cert: rec.certPem, key: rec.keyPem, ca: trustBundle(this.requireCa()) }, !first);
  }

  private set(ctx: TlsContext, notify: boolean): void {
    this.ctx = ctx;
    this.info = parseCertificate(ctx.cert);
    if (notify) for (const l of this.listeners) l(this.serverContext());
  }

  // ---- files mode

  private loadFiles(first: boolean): void {
    const { certFile, keyFile, clientCaFile } = this.o;
    if (!certFile || !keyFile) throw new ConfigurationError('tls.mode "files" needs tls.certFile and tls.keyFile (REKEY_TLS_CERT_FILE, REKEY_TLS_KEY_FILE)');
    const files = { certFile, keyFile, clientCaFile };
    let stamp: string;
    try {
      stamp = stampOf(files);
    } catch (e) {
      if (first) throw new ConfigurationError(`cannot read the TLS files: ${(e as Error).message}`);
      this.o.onError?.(`certs: cannot stat the TLS files, keeping the current certificate: ${(e as Error).message}`);
      return;
    }
    if (stamp === this.fileStamp) return;
    try {
      const ctx = readTlsFiles(files);
      const { cert } = ctx;
      const info = parseCertificate(cert);
      const prev = first ? undefined : this.info;
      this.fileStamp = stamp;
      this.set(ctx, !first);
      if (prev?.serial !== info.serial) {
        const now = this.clock();
        const entry = historyEntryOf(cert, now, 'file-reload', this.o.node, prev?.serial);
        void this.o.barrier.putJSON(historyKey(now, entry.serial), entry).catch(() => {});
        this.o.onEvent?.(prev
          ? { type: 'RotateCertificate', serial: info.serial, notAfter: entry.notAfter, replaced: prev.serial, reason: 'file-reload', at: now }
          : { type: 'IssueCertificate', serial: info.serial, notAfter: entry.notAfter, sans: entry.sans, purpose: 'server', reason: 'file-reload', at: now });
      }
    } catch (e) {
      const msg = e instanceof ConfigurationError ? e.message : `cannot load ${certFile} / ${keyFile}: ${(e as Error).message}`;
      if (first) throw new ConfigurationError(msg);
      this.o.onError?.(`certs: ${msg}; keeping the current certificate`);
    }
  }
}

export { normalizeSan } from './model.ts';
