// The API's edge (docs/TLS.md): HTTPS with a certificate that can be swapped while running, mutual
// TLS, and connection hardening — header size and timeouts so a slow client cannot hold a
// connection, a cap on connections in total and per source address, keep-alive longer than the
// AWS SDKs' idle timeout.
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { AccessDeniedException } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';
import { TLS_POLICY } from '../crypto/tls-policy.ts';
import type { Config } from '../config/config.ts';

/** The connection limits of the configuration's http section (docs/TLS.md). */
export type EdgeLimits = Omit<Config['http'], 'bodyLimitBytes'>;

export interface EdgeTls {
  cert: string;
  key: string;
  ca?: string;
  /** none: no client certificates; optional: a presented certificate must verify; required: no certificate, no connection. */
  clientAuth: 'none' | 'optional' | 'required';
}

/** Options for Fastify's server factory: `https` (TLS) or `http`, both with the limits. */
export function serverOptions(limits: EdgeLimits, tls?: EdgeTls): { http?: object; https?: object; keepAliveTimeout: number; requestTimeout: number } {
  const common = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // how often Node checks headersTimeout / requestTimeout: a slowloris is cut within this of its deadline
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const base = { keepAliveTimeout: limits.keepAliveTimeoutMs, requestTimeout: limits.requestTimeoutMs };
  if (!tls) return { ...base, http: common };
  return {
    ...base,
    https: {
      ...common,
      cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}),
      ...TLS_POLICY,
      // a client that opens TCP and never finishes the handshake is dropped like a slow header
      handshakeTimeout: limits.headersTimeoutMs,
      requestCert: tls.clientAuth !== 'none',
      rejectUnauthorized: tls.clientAuth === 'required',
    },
  };
}

/** Counts connections per source address and drops those over the caps (before any byte is read). */
export function guardConnections(server: HttpServer | HttpsServer, limits: EdgeLimits): { perSource: Map<string, number> } {
  const perSource = new Map<string, number>();
  server.maxConnections = limits.maxConnections;
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = (perSource.get(ip) ?? 0) + 1;
    if (n > limits.maxConnectionsPerSource) {
      socket.destroy();
      return;
    }
    perSource.set(ip, n);
    socket.once('close', () => {
      const left = (perSource.get(ip) ?? 1) - 1;
      if (left <= 0) perSource.delete(ip);
      else perSource.set(ip, left);
    });
  });
  return { perSource };
}

/** Swaps the server certificate: open connections keep their session, new handshakes get the new one. */
export function setServerContext(app: FastifyInstance, ctx: { cert: string; key: string; ca?: string }): void {
  (app.server as HttpsServer).setSecureContext({ cert: ctx.cert, key: ctx.key, ...(ctx.ca ? { ca: ctx.ca } : {}), ...TLS_POLICY });
}

/** The principal ARN a client certificate names (its first URI SAN that is an ARN), if any. */
export function clientCertPrincipal(raw: IncomingMessage): { presented: boolean; authorized: boolean; principal?: string } {
  const socket = raw.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return { presented: false, authorized: false };
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { presented: false, authorized: false };
  const uri = (cert.subjectaltname ?? '').split(/,\s*/).map((s) => s.replace(/^URI:/, '')).find((s) => s.startsWith('arn:'));
  return { presented: true, authorized: socket.authorized, ...(uri ? { principal: uri } : {}) };
}

/**
 * Mutual TLS on an AWS call (after SigV4): a presented certificate must verify, and when it names a
 * principal, the request must be signed by that principal (an assumed-role certificate may name
 * the role). SigV4 stays mandatory: the certificate narrows who may use a connection, it does not
 * replace the signature.
 */
export function checkClientCertificate(raw: IncomingMessage, caller: Identity, mode: EdgeTls['clientAuth']): void {
  if (mode === 'none') return;
  const c = clientCertPrincipal(raw);
  if (!c.presented) {
    if (mode === 'required') throw new AccessDeniedException('A client certificate is required.');
    return;
  }
  if (!c.authorized) throw new AccessDeniedException('The client certificate is not trusted.');
  if (c.principal && c.principal !== caller.arn && c.principal !== caller.roleArn) {
    throw new AccessDeniedException(`The client certificate is issued to ${c.principal}, but the request is signed by ${caller.arn}.`);
  }
}
