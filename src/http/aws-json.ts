// The AWS JSON 1.1 protocol adapter (X-Amz-Target: <prefix>.<Operation>, JSON bodies): the one
// place where errors are serialized for AWS JSON clients. Services register by target prefix
// (TrentService = KMS, secretsmanager = Secrets Manager); the pipeline (pipeline.ts) does the rest.
import sjson from 'secure-json-parse';
import { RekeyError, SerializationException, UnknownOperationException } from '../errors.ts';
import { scopeService, type AwsService, type Protocol, type WireRoute, type WireReply, type WireRequest } from './pipeline.ts';

export const AWS_JSON = 'application/x-amz-json-1.1';

/**
 * The deepest JSON nesting accepted. AWS request shapes nest a few levels (Tags: 3); a deeper body
 * is refused before it is parsed, so no recursive walk (audit allowlists, canonical JSON) sees it.
 */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of a JSON text, counted over its bytes (strings skipped), stopping at `limit` + 1. */
export function jsonDepth(body: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** Parses a request body as JSON without prototype-polluting keys. Empty body = {}. */
export function parseBody(body: Buffer | undefined): unknown {
  if (!body || body.length === 0) return {};
  if (jsonDepth(body) > MAX_JSON_DEPTH) throw new SerializationException(`The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
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

export function sendAwsError(reply: WireReply, err: RekeyError, requestId: string, messageKey: 'message' | 'Message' = 'message'): WireReply {
  return reply
    .code(err.status)
    .header('content-type', AWS_JSON)
    .header('x-amzn-requestid', requestId)
    .header('x-amzn-errortype', err.code)
    .send(JSON.stringify({ __type: err.code, [messageKey]: err.message }));
}

/**
 * Secrets Manager's modeled exceptions (the error shapes of botocore's secretsmanager
 * service-2.json, whose member is `Message`) answer `{"__type", "Message"}`, as recorded: LocalStack
 * tests/aws/services/secretsmanager/test_secretsmanager.snapshot.json, test_no_client_request_token
 * "no-client-request-exc" (a raw body), and the top-level `Message` botocore fills from the body in
 * every modeled error there. Other errors (ValidationException, signature, throttling) and every
 * KMS error keep `message` (test_kms.snapshot.json: top-level `message`).
 */
const SECRETS_MODELED_ERRORS = new Set([
  'DecryptionFailure', 'EncryptionFailure', 'InternalServiceError', 'InvalidNextTokenException', 'InvalidParameterException',
  'InvalidRequestException', 'LimitExceededException', 'MalformedPolicyDocumentException', 'PreconditionNotMetException',
  'PublicPolicyException', 'ResourceExistsException', 'ResourceNotFoundException',
]);

export function sendAwsResult(reply: WireReply, body: unknown, requestId: string): WireReply {
  return reply
    .code(200)
    .header('content-type', AWS_JSON)
    .header('x-amzn-requestid', requestId)
    .send(JSON.stringify(body));
}

/** The AWS JSON 1.1 protocol: X-Amz-Target routing to services registered by target prefix. */
export class AwsJsonProtocol implements Protocol {
  readonly name = 'aws-json';
  private readonly byPrefix = new Map<string, AwsService>();

  register(targetPrefix: string, service: AwsService): void {
    if (this.byPrefix.has(targetPrefix)) throw new Error(`X-Amz-Target prefix ${targetPrefix} is registered twice`);
    this.byPrefix.set(targetPrefix, service);
  }

  /** Everything on POST / that no other protocol takes (the fallback: its errors are AWS JSON). */
  accepts(): boolean {
    return true;
  }

  route(req: WireRequest): WireRoute {
    const target = req.headers['x-amz-target'];
    const dot = typeof target === 'string' ? target.indexOf('.') : -1;
    // a Map: an X-Amz-Target of "constructor.x" or "__proto__.x" finds nothing
    const service = dot > 0 ? this.byPrefix.get((target as string).slice(0, dot)) : undefined;
    if (!service) throw new UnknownOperationException(`Unknown operation ${typeof target === 'string' ? target.slice(0, 128) : '(missing X-Amz-Target)'}`);
    return { service, operation: (target as string).slice(dot + 1) };
  }

  /** A refused target is recorded under the service whose signing name the credential scope names. */
  refusedService(req: WireRequest): AwsService | undefined {
    const scope = scopeService(req);
    if (scope === undefined) return undefined;
    for (const s of this.byPrefix.values()) if (s.signingName === scope) return s;
    return undefined;
  }

  input(_req: WireRequest, body: Buffer): unknown {
    return parseBody(body);
  }

  sendResult(reply: WireReply, _route: WireRoute, result: Record<string, unknown>, requestId: string): WireReply {
    return sendAwsResult(reply, result, requestId);
  }

  sendError(reply: WireReply, err: RekeyError, requestId: string): WireReply {
    const target = reply.request.headers['x-amz-target'];
    const secrets = typeof target === 'string' && target.startsWith('secretsmanager.') && SECRETS_MODELED_ERRORS.has(err.code);
    return sendAwsError(reply, err, requestId, secrets ? 'Message' : 'message');
  }
}
