// TLS to the upstream database (docs/PROXY.md, "Upstream TLS"): SSLRequest, one answer byte, then
// a TLS handshake over the same socket with libpq's sslmode meanings:
//   require     encrypt; the certificate is not checked (protects against passive eavesdropping only)
//   verify-ca   the chain must lead to a CA of upstream.caFile; the name is not checked
//   verify-full the chain as verify-ca, and the certificate must name the server (upstream.serverName,
//               by default the host the proxy dials: DNS names or IP addresses in subjectAltName)
// A server that answers 'N' is never talked to in plaintext.
import { readFileSync, statSync } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { parseCertificate } from '../crypto/x509.ts';
import { ConfigurationError } from '../errors.ts';
import type { UpstreamConfig, UpstreamTlsMode } from './config.ts';
import { SSL_REQUEST } from './protocol.ts';

/** Resolved once per target at start-up (the CA bundle read and checked). */
export interface UpstreamTls {
  mode: Exclude<UpstreamTlsMode, 'disable'>;
  /** PEM bundle: the only trust anchors (verify-ca / verify-full). */
  ca: string | undefined;
  /** Name checked against the certificate (verify-full) and sent as SNI (when not an IP address); default the dialed host. */
  serverName: string | undefined;
}

/** The target's TLS settings, undefined for `disable`. Reads and checks `caFile` (ConfigurationError when unusable). */
export function resolveUpstreamTls(target: string, up: UpstreamConfig): UpstreamTls | undefined {
  const mode = up.tls ?? 'disable';
  if (mode === 'disable') return undefined;
  let ca: string | undefined;
  if (up.caFile !== undefined) {
    try {
      ca = readFileSync(up.caFile, 'utf8');
    } catch (e) {
      throw new ConfigurationError(`proxy target ${target}: cannot read upstream.caFile ${up.caFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const blocks = ca.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new ConfigurationError(`proxy target ${target}: upstream.caFile ${up.caFile} holds no PEM certificate`);
    for (const b of blocks) {
      try {
        parseCertificate(b);
      } catch {
        throw new ConfigurationError(`proxy target ${target}: upstream.caFile ${up.caFile} holds a certificate that does not parse`);
      }
    }
  }
  return { mode, ca, serverName: up.serverName };
}

/**
 * A target's TLS settings, with `caFile` re-read when it changes (mtime or size; checked at each new
 * server connection, so a rotated CA bundle is used without a restart). A bundle that no longer
 * reads or parses keeps the last good one and is reported once per change.
 */
export class UpstreamTlsSource {
  private tls: UpstreamTls | undefined;
  private stamp: string;

  constructor(private readonly target: string, private readonly up: UpstreamConfig, private readonly log: (e: unknown) => void) {
    this.stamp = this.fileStamp();
    this.tls = resolveUpstreamTls(target, up); // at start-up a bad file is fatal
  }

  private fileStamp(): string {
    if (this.up.caFile === undefined) return '';
    try {
      const st = statSync(this.up.caFile);
      return `${st.mtimeMs}/${st.size}/${st.ino}`;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'error';
    }
  }

  current(): UpstreamTls | undefined {
    if (this.up.caFile === undefined) return this.tls;
    const stamp = this.fileStamp();
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      try {
        this.tls = resolveUpstreamTls(this.target, this.up);
      } catch (e) {
        this.log(new Error(`${(e as Error).message}; keeping the CA bundle read before`));
      }
    }
    return this.tls;
  }
}

export function sslRequest(): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(8, 0);
  b.writeUInt32BE(SSL_REQUEST, 4);
  return b;
}

/** Why the TLS negotiation failed; the caller turns it into an UpstreamError (08001). */
export class UpstreamTlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamTlsError';
  }
}

/**
 * On a connected socket: SSLRequest, the server's answer, the handshake. Resolves to the TLS socket
 * once the server's certificate passed the mode's checks; rejects with UpstreamTlsError otherwise
 * (the caller destroys the socket).
 */
export function startUpstreamTls(socket: Socket, tls: UpstreamTls, host: string): Promise<TLSSocket> {
  const where = `${host}:${socket.remotePort ?? '?'}`;
  return new Promise<TLSSocket>((resolve, reject) => {
    const onClose = () => reject(new UpstreamTlsError(`the server at ${where} closed the connection during the SSL request`));
    const onError = (e: Error) => reject(new UpstreamTlsError(`SSL request to ${where} failed: ${e.message}`));
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.once('data', (chunk: Buffer) => {
      socket.off('close', onClose);
      socket.off('error', onError);
      // "The server then responds with a single byte containing S or N, indicating that it is
      //  willing or unwilling to perform SSL, respectively."
      const answer = chunk[0];
      if (answer === 0x4e /* N */) {
        return reject(new UpstreamTlsError(`the server at ${where} does not accept SSL (it answered N to SSLRequest); upstream.tls is ${tls.mode}, so the proxy does not log in without it`));
      }
      if (answer !== 0x53 /* S */) {
        // 'E' is a pre-3.0 server's error message: not answered in plaintext either
        return reject(new UpstreamTlsError(`the server at ${where} sent an invalid answer to SSLRequest (byte 0x${(answer ?? 0).toString(16)})`));
      }
      // CVE-2021-23222 (libpq) / CVE-2021-23214: bytes after 'S' before the handshake would be read
      // as if they came over TLS; a man in the middle could inject them. Refuse.
      if (chunk.length > 1 || socket.readableLength > 0) {
        return reject(new UpstreamTlsError(`the server at ${where} sent unencrypted data after its SSL answer (possible man-in-the-middle): refused`));
      }
      const name = tls.serverName ?? host;
      const s = tlsConnect({
        socket,
        ...(isIP(name) ? {} : { servername: name }), // RFC 6066: no IP addresses in SNI
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        rejectUnauthorized: tls.mode !== 'require',
        checkServerIdentity: (_host, cert) => (tls.mode === 'verify-full' ? checkServerIdentity(name, cert) : undefined),
      });
      const fail = (e: Error) => {
        s.off('secureConnect', ok);
        reject(new UpstreamTlsError(`TLS handshake with ${where} failed (upstream.tls ${tls.mode}${tls.mode === 'verify-full' ? `, server name ${name}` : ''}): ${e.message}`));
      };
      const closed = () => fail(new Error('the server closed the connection'));
      const ok = () => {
        s.off('error', fail);
        s.off('close', closed);
        resolve(s);
      };
      s.once('secureConnect', ok);
      s.on('error', fail); // 'on': a second error event must not become an uncaught exception
      s.on('close', closed);
    });
    socket.write(sslRequest());
  });
}
