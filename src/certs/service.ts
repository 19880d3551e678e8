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
import { readFileSync, statSync } from 'node:fs';
import { generateCa, issueCertificate, parseCertificate, isSignedBy, isIpAddress, keyMatchesCertificate, type PemPair, type CertificateInfo } from '../crypto/x509.ts';
import { Barrier } from '../storage/barrier.ts';
import { CasConflict } from '../storage/backend.ts';
import { ConfigurationError, ValidationException } from '../errors.ts';
import {
  CA_PATH, SERVER_PATH, HISTORY_PREFIX, type CaRecord, type ServerCertRecord, type HistoryEntry, type IssueReason, type CertView,
  historyEntryOf, historyKey, renewAtOf, sansOf, viewOf,
} from './model.ts';

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
  | { type: 'RotateCertificate'; serial: string; notAfter: string; replaced: string; reason: IssueReason; at: Date };

export interface CertServiceOptions {
  barrier: Barrier;
  node: string;
  mode: 'generated' | 'files';
  /** Generated mode: the server certificate's SANs (DNS names and IP addresses). */
  sans?: readonly string[];
  certLifetimeMs?: number;
  caLifetimeMs?: number;
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
  ca?: CertView;
  history: HistoryEntry[];
}

export class CertService {
  private ctx!: TlsContext;
  private info!: CertificateInfo;
  private serverVersion = 0;
  private ca: CaRecord | null = null;
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

  /** Loads (or creates) the CA and the server certificate. Call once before serverContext(). */
  async init(): Promise<void> {
    if (this.mode === 'files') {
      this.loadFiles(true);
      return;
    }
    this.ca = await this.ensureCa();
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

  /** rekey's CA certificate (PEM) for clients' trust bundles (--ca-bundle); files mode: the client CA file, if any. */
  caBundle(): string | undefined {
    return this.ctx.ca;
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
        else await this.syncServer();
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

  /** Replaces the server certificate now (generated mode), whatever its age. */
  async rotate(reason: IssueReason = 'manual'): Promise<CertView> {
    if (this.mode !== 'generated') throw new ValidationException('The server certificate comes from files (tls.mode "files"): replace the files and send SIGHUP, or wait for the next check.');
    const cur = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
    await this.issueServer(reason, cur);
    return viewOf(this.info);
  }

  /**
   * A certificate from rekey's CA for other names (the proxy's listener, a client certificate for
   * mTLS with the principal ARN as a URI SAN). Returns the key once; it is not stored.
   */
  async issue(p: { commonName: string; sans?: readonly string[]; uris?: readonly string[]; usage: 'server' | 'client'; lifetimeMs?: number }): Promise<PemPair & { caPem: string }> {
    const ca = this.requireCa();
    const now = this.clock();
    const pair = await issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: p.commonName, sans: p.sans ?? [], uris: p.uris ?? [], notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + (p.lifetimeMs ?? this.lifetimeMs)), usage: p.usage });
    const info = parseCertificate(pair.certPem);
    this.o.onEvent?.({ type: 'IssueCertificate', serial: info.serial, notAfter: info.notAfter.toISOString(), sans: sansOf(info), purpose: p.usage === 'client' ? 'client' : 'other', reason: 'requested', at: now });
    return { ...pair, caPem: ca.certPem };
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
      ...(this.ca ? { ca: viewOf(parseCertificate(this.ca.certPem)) } : {}),
      history,
    };
  }

  // ---- generated mode

  private requireCa(): CaRecord {
    if (!this.ca) throw new ValidationException('rekey has no certificate authority: tls.mode is "files".');
    return this.ca;
  }

  private async ensureCa(): Promise<CaRecord> {
    const got = await this.o.barrier.getJSON<CaRecord>(CA_PATH);
    if (got) return got.value;
    const now = this.clock();
    const pair = await generateCa({ commonName: 'rekey CA', notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + (this.o.caLifetimeMs ?? 3650 * DAY_MS)) });
    const rec: CaRecord = { ...pair, createdAt: now.toISOString() };
    try {
      await this.o.barrier.putJSON(CA_PATH, rec, { expectVersion: 0 });
    } catch (e) {
      if (!(e instanceof CasConflict)) throw e;
      const other = await this.o.barrier.getJSON<CaRecord>(CA_PATH);
      if (!other) throw e;
      return other.value; // another node created it first
    }
    const info = parseCertificate(rec.certPem);
    this.o.onEvent?.({ type: 'CreateCertificateAuthority', serial: info.serial, notAfter: info.notAfter.toISOString(), at: now });
    return rec;
  }

  /** Adopts the stored certificate when it is newer than ours; issues one when none is usable or it is due. */
  private async syncServer(): Promise<void> {
    const cur = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
    if (cur && cur.version !== this.serverVersion) this.adopt(cur.value, cur.version);
    const reason = this.dueReason(cur?.value);
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

  private async issueServer(reason: IssueReason, cur: { value: ServerCertRecord; version: number } | null): Promise<void> {
    const ca = this.requireCa();
    const now = this.clock();
    const prev = cur ? parseCertificate(cur.value.certPem) : undefined;
    // SANs only grow: nodes with different lists converge on the union instead of taking turns.
    const sans = [...new Set([...(prev ? [...prev.dnsNames, ...prev.ipAddresses] : []), ...(this.o.sans ?? []).map(normalizeSan)])];
    if (sans.length === 0) throw new ConfigurationError('tls.sans is empty: the server certificate needs at least one DNS name or IP address');
    const pair = await issueCertificate({
      caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: sans.find((s) => !isIpAddress(s)) ?? sans[0]!, sans,
      notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + this.lifetimeMs), usage: 'server',
    });
    const rec: ServerCertRecord = { ...pair, issuedAt: now.toISOString(), reason, node: this.o.node };
    const entry = historyEntryOf(pair.certPem, now, reason, this.o.node, prev?.serial);
    try {
      await this.o.barrier.transaction([
        Barrier.putOp(SERVER_PATH, rec, cur ? cur.version : 0),
        Barrier.putOp(historyKey(now, entry.serial), entry, 0),
      ]);
    } catch (e) {
      if (!(e instanceof CasConflict)) throw e;
      // another node rotated first: use its certificate
      const won = await this.o.barrier.getJSON<ServerCertRecord>(SERVER_PATH);
      if (won && won.version !== this.serverVersion) this.adopt(won.value, won.version);
      return;
    }
    // a CAS put bumps the version by exactly one (src/storage/backend.ts)
    this.adopt(rec, cur ? cur.version + 1 : 1);
    const base = { serial: entry.serial, notAfter: entry.notAfter, at: now };
    this.o.onEvent?.({ type: 'IssueCertificate', ...base, sans: entry.sans, purpose: 'server', reason });
    if (prev) this.o.onEvent?.({ type: 'RotateCertificate', ...base, replaced: prev.serial, reason });
  }

  private adopt(rec: ServerCertRecord, version: number): void {
    const first = this.serverVersion === 0 && !this.ctx;
    this.serverVersion = version;
    this.set({ cert: rec.certPem, key: rec.keyPem, ca: this.requireCa().certPem }, !first);
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
    let stamp: string;
    try {
      stamp = [certFile, keyFile, clientCaFile].filter((f): f is string => !!f).map((f) => { const s = statSync(f); return `${s.mtimeMs}:${s.size}`; }).join('|');
    } catch (e) {
      if (first) throw new ConfigurationError(`cannot read the TLS files: ${(e as Error).message}`);
      this.o.onError?.(`certs: cannot stat the TLS files, keeping the current certificate: ${(e as Error).message}`);
      return;
    }
    if (stamp === this.fileStamp) return;
    try {
      const cert = readFileSync(certFile, 'utf8');
      const key = readFileSync(keyFile, 'utf8');
      const ca = clientCaFile ? readFileSync(clientCaFile, 'utf8') : undefined;
      const info = parseCertificate(cert);
      if (!keyMatchesCertificate(cert, key)) throw new ConfigurationError(`the key in ${keyFile} does not match the certificate in ${certFile}`);
      const prev = first ? undefined : this.info;
      this.fileStamp = stamp;
      this.set({ cert, key, ...(ca ? { ca } : {}) }, !first);
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

/** How node:crypto prints a SAN (IPv6 expanded), so configured and parsed names compare equal. */
export function normalizeSan(s: string): string {
  if (!s.includes(':')) return s;
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => (parseInt(g, 16) || 0).toString(16).toUpperCase()).join(':');
}
