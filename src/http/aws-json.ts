// The AWS JSON 1.1 protocol: the one place where errors are serialized for AWS clients.
import type { FastifyReply } from 'fastify';
import sjson from 'secure-json-parse';
import { RekeyError, SerializationException, InternalFailure } from '../errors.ts';

export const AWS_JSON = 'application/x-amz-json-1.1';

/** Parses a request body as JSON without prototype-polluting keys. Empty body = {}. */
export function parseBody(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) return {};
  let v: unknown;
  try {
    v = sjson.parse(body, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new SerializationException('Start of structure or map found where not expected, or the request body is not valid JSON.');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new SerializationException('The request body must be a JSON object.');
  }
  return v;
}

/** Maps any thrown value to a RekeyError; unexpected ones become an InternalFailure without details. */
export function toRekeyError(err: unknown, requestId: string): RekeyError {
  if (err instanceof RekeyError) return err;
  return new InternalFailure(`An internal error occurred. Request ID: ${requestId}`);
}

export function sendAwsError(reply: FastifyReply, err: RekeyError, requestId: string): FastifyReply {
  return reply
    .code(err.status)
    .header('content-type', AWS_JSON)
    .header('x-amzn-requestid', requestId)
    .header('x-amzn-errortype', err.code)
    .send(JSON.stringify({ __type: err.code, message: err.message }));
}

export function sendAwsResult(reply: FastifyReply, body: unknown, requestId: string): FastifyReply {
  return reply
    .code(200)
    .header('content-type', AWS_JSON)
    .header('x-amzn-requestid', requestId)
    .send(JSON.stringify(body));
}
