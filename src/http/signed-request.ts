// The one conversion from a fastify request to what SigV4 verification reads: method, path and
// raw query as sent, headers from rawHeaders (Node's req.headers joins repeats with ", ", which
// breaks SigV4), and the exact body bytes.
import type { FastifyRequest } from 'fastify';
import { headersFromRaw, type SignedRequest } from '../iam/sigv4.ts';

/** The raw request body (every body is read as bytes: see the content-type parser in app.ts). */
export function bodyOf(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

export function signedRequestOf(req: FastifyRequest, body: Buffer = bodyOf(req)): SignedRequest {
  const q = req.url.indexOf('?');
  return {
    method: req.method,
    path: q < 0 ? req.url : req.url.slice(0, q),
    query: q < 0 ? '' : req.url.slice(q + 1),
    headers: headersFromRaw(req.raw.rawHeaders),
    body,
  };
}

/** The credential scope's service of a SigV4 Authorization header, if any. */
export function scopeService(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return undefined;
  return /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(auth)?.[1];
}
