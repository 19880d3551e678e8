// The raw lane (issue 16, docs/ARCHITECTURE.md "Request pipeline"): canonical AWS JSON calls — the
// KMS and Secrets Manager data path — served straight from node:http, through the same pipeline
// (pipeline.ts serveAwsCall) and the same protocol adapter (aws-json.ts) as every other call, but
// without fastify's routing, hooks, content-type parsing and reply machinery, which a profile of the
// Encrypt path showed costing more than the Encrypt itself.
//
// The lane takes only the one request shape the AWS SDKs send — POST / with Content-Type exactly
// application/x-amz-json-1.1, a Content-Length within the body limit, no Transfer-Encoding — and
// only while the server is not closing. Everything else (other paths and methods, chunked or
// over-limit bodies, other content types, the Query protocol) goes to fastify, whose answers for the
// unusual shapes (413, 400, 503 while closing, refused-request auditing) stay as they were. So the
// lane never answers an error the pipeline did not produce.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from '../crypto/index.ts';
import { AWS_JSON } from './aws-json.ts';
import { serveAwsCall, type PipelineDeps, type Protocol, type WireReply, type WireRequest } from './pipeline.ts';

export interface RawLaneOptions {
  bodyLimitBytes: number;
  /** The AWS JSON protocol adapter (the only protocol whose content type the lane takes). */
  protocol: Protocol;
  deps: PipelineDeps;
  log: WireRequest['log'];
}

const DIGITS = /^\d{1,9}$/;

/** The request facts the pipeline reads, from a raw node:http request. */
class RawRequest implements WireRequest {
  readonly id = randomUUID();
  readonly method = 'POST';
  readonly url = '/';
  readonly ip: string;
  readonly protocol: 'http' | 'https';
  readonly headers: IncomingHttpHeaders;
  body: Buffer | undefined;

  constructor(readonly raw: IncomingMessage, readonly log: WireRequest['log']) {
    this.ip = raw.socket.remoteAddress ?? '';
    this.protocol = (raw.socket as TLSSocket).encrypted === true ? 'https' : 'http';
    this.headers = raw.headers;
  }
}

/** The answer, written in one go: status, headers and body (a string, so Node sends one segment). */
class RawReply implements WireReply {
  private status = 200;
  private readonly fields: Record<string, string> = {};

  constructor(readonly request: RawRequest, private readonly res: ServerResponse) {}

  code(status: number): this {
    this.status = status;
    return this;
  }

  header(name: string, value: string): this {
    // as fastify answers a string body (reply.js): a content type without a charset gets utf-8
    this.fields[name] = name === 'content-type' && !value.includes('charset') ? `${value}; charset=utf-8` : value;
    return this;
  }

  send(body: string): this {
    this.fields['content-length'] = String(Buffer.byteLength(body));
    if (!this.res.destroyed) this.res.writeHead(this.status, this.fields).end(body);
    return this;
  }
}

export class RawLane {
  private closing = false;
  /** Requests this lane has taken (tests: which path served a call). */
  served = 0;

  constructor(private readonly opts: RawLaneOptions) {}

  /** From now on every request goes to fastify (which answers 503 while the server closes). */
  close(): void {
    this.closing = true;
  }

  /** Whether this request has the one shape the lane serves. */
  takes(req: IncomingMessage): boolean {
    if (this.closing || req.method !== 'POST' || req.url !== '/') return false;
    const h = req.headers;
    if (h['content-type'] !== AWS_JSON || h['transfer-encoding'] !== undefined) return false;
    const len = h['content-length'];
    return len !== undefined && DIGITS.test(len) && Number(len) <= this.opts.bodyLimitBytes;
  }

  /** Reads the body (exactly Content-Length bytes: Node's parser holds the client to it) and serves the call. */
  serve(raw: IncomingMessage, res: ServerResponse): void {
    this.served++;
    const request = new RawRequest(raw, this.opts.log);
    const body = Buffer.allocUnsafe(Number(raw.headers['content-length']));
    let at = 0;
    raw.on('data', (chunk: Buffer) => {
      // never past the declared length (the parser enforces it; this guards the copy regardless)
      at += chunk.copy(body, at);
    });
    raw.on('end', () => {
      if (at !== body.length) {
        res.destroy();
        return;
      }
      request.body = body;
      void serveAwsCall(request, new RawReply(request, res), this.opts.protocol, this.opts.deps);
    });
    // an aborted or broken request is dropped, as fastify drops it: nothing was routed yet
    raw.on('error', () => res.destroy());
  }
}
