// The AWS STS Query protocol (POST /, Content-Type application/x-www-form-urlencoded,
// Action=...&Version=2011-06-15, XML responses) around src/iam/sts.ts, so that
// `aws sts get-session-token --endpoint-url ...` and the SDKs' STS clients work unchanged.
// Reference: AWS STS API Reference (response elements, common errors) and the Query protocol.
import { bodyOf, signedRequestOf } from './signed-request.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RekeyError, ValidationException } from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

export interface StsDeps {
  iam: IamService;
  /** Credential-scope regions accepted for service "sts" (default: the server's region and us-east-1, STS's global region). */
  regions?: readonly string[];
  /** Called once per request, before the response is sent (the audit trail); a failure turns the response into an InternalFailure. */
  onCall?: (call: StsCall) => Promise<void> | void;
}

export interface StsCall {
  action: string;
  requestId: string;
  identity?: Identity;
  /** Request parameters without secrets (TokenCode is left out). */
  parameters: Record<string, string>;
  /** The error's STS code when the call failed. */
  errorCode?: string;
  errorMessage?: string;
  sourceIp: string;
  userAgent: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const el = (name: string, value: string) => `<${name}>${esc(value)}</${name}>`;

/** Whether a POST / request is an STS Query-protocol call (form-encoded; scoped to sts when signed). */
export function isStsRequest(req: FastifyRequest): boolean {
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) return false;
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return true;
  const m = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(auth);
  return !m || m[1] === 'sts';
}

/** Query-protocol error codes and statuses for rekey's errors (STS API Reference, "Common Errors"); the RDS Query adapter (rds-query.ts) uses it too. */
export function stsError(e: RekeyError): { code: string; status: number } {
  switch (e.code) {
    case 'AccessDeniedException': return { code: 'AccessDenied', status: 403 };
    case 'ValidationException': return { code: 'ValidationError', status: 400 };
    case 'UnrecognizedClientException': return { code: 'InvalidClientTokenId', status: 403 };
    case 'InvalidSignatureException': return { code: 'SignatureDoesNotMatch', status: 403 };
    case 'IncompleteSignatureException': return { code: 'IncompleteSignature', status: 400 };
    case 'MissingAuthenticationTokenException': return { code: 'MissingAuthenticationToken', status: 403 };
    case 'ExpiredTokenException': return { code: 'ExpiredToken', status: 403 };
    case 'MalformedPolicyDocumentException': return { code: 'MalformedPolicyDocument', status: 400 };
    case 'UnknownOperationException': return { code: 'InvalidAction', status: 400 };
    default: return e.fault === 'server' ? { code: 'InternalFailure', status: 500 } : { code: e.code, status: e.status };
  }
}

export function stsErrorXml(code: string, message: string, requestId: string, server = false): string {
  return `<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>${server ? 'Receiver' : 'Sender'}</Type>${el('Code', code)}${el('Message', message)}</Error>${el('RequestId', requestId)}</ErrorResponse>`;
}

function credentialsXml(c: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string }): string {
  return `<Credentials>${el('AccessKeyId', c.accessKeyId)}${el('SecretAccessKey', c.secretAccessKey)}${el('SessionToken', c.sessionToken)}${el('Expiration', c.expiration)}</Credentials>`;
}

function envelope(action: string, result: string, requestId: string): string {
  return `<${action}Response xmlns="${STS_NAMESPACE}"><${action}Result>${result}</${action}Result><ResponseMetadata>${el('RequestId', requestId)}</ResponseMetadata></${action}Response>`;
}

function intParam(p: Record<string, string>, name: string): number | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (!/^-?\d{1,12}$/.test(v)) throw new ValidationException(`1 validation error detected: Value '${v.slice(0, 64)}' at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must be an integer`);
  return Number(v);
}

function opt<K extends string>(key: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: string };
}

async function dispatch(deps: StsDeps, action: string, p: Record<string, string>, id: Identity, info: { sourceIp: string; secureTransport: boolean }, requestId: string): Promise<string> {
  const sts = deps.iam.sts;
  switch (action) {
    case 'GetSessionToken': {
      const d = intParam(p, 'DurationSeconds');
      const c = await sts.getSessionToken(id, { ...(d !== undefined ? { durationSeconds: d } : {}), ...opt('serialNumber', p['SerialNumber']), ...opt('tokenCode', p['TokenCode']) });
      return envelope(action, credentialsXml(c), requestId);
    }
    case 'AssumeRole': {
      const d = intParam(p, 'DurationSeconds');
      const r = await sts.assumeRole(id, {
        roleArn: p['RoleArn'] ?? '', roleSessionName: p['RoleSessionName'] ?? '', ...info,
        ...(d !== undefined ? { durationSeconds: d } : {}), ...opt('externalId', p['ExternalId']), ...opt('serialNumber', p['SerialNumber']), ...opt('tokenCode', p['TokenCode']),
      });
      return envelope(action, `${credentialsXml(r.credentials)}<AssumedRoleUser>${el('AssumedRoleId', r.assumedRoleUser.assumedRoleId)}${el('Arn', r.assumedRoleUser.arn)}</AssumedRoleUser>`, requestId);
    }
    case 'GetCallerIdentity': {
      const c = sts.getCallerIdentity(id);
      return envelope(action, `${el('Arn', c.arn)}${el('UserId', c.userId)}${el('Account', c.account)}`, requestId);
    }
    default:
      throw new StsInvalidAction(action);
  }
}

class StsInvalidAction extends RekeyError {
  readonly code = 'InvalidAction';
  readonly status = 400;
  constructor(action: string) {
    super(`Could not find operation ${action.slice(0, 64)} for version 2011-06-15`);
  }
}

/** Handles one STS Query-protocol request (POST / with a form body). Always sends a response. */
export async function handleStsRequest(req: FastifyRequest, reply: FastifyReply, deps: StsDeps): Promise<FastifyReply> {
  const requestId = req.id;
  const body = bodyOf(req);
  const params = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  const action = params['Action'] ?? '';
  const { TokenCode: _secret, ...loggable } = params;
  const call: StsCall = { action, requestId, parameters: loggable, sourceIp: req.ip, userAgent: String(req.headers['user-agent'] ?? '') };
  let status = 200;
  let xml: string;
  try {
    const signedReq = signedRequestOf(req, body);
    const identity = await deps.iam.authenticate(signedReq, 'sts', deps.regions ?? [deps.iam.region, 'us-east-1']);
    call.identity = identity;
    xml = await dispatch(deps, action, params, identity, { sourceIp: req.ip, secureTransport: req.protocol === 'https' }, requestId);
  } catch (err) {
    const rk = err instanceof RekeyError ? err : undefined;
    if (!rk) req.log.error({ err, requestId }, 'unexpected error');
    const { code, status: s } = rk ? stsError(rk) : { code: 'InternalFailure', status: 500 };
    const message = rk && rk.fault !== 'server' ? rk.message : `An internal error occurred. Request ID: ${requestId}`;
    status = s;
    call.errorCode = code;
    call.errorMessage = message;
    xml = stsErrorXml(code, message, requestId, status >= 500);
  }
  try {
    await deps.onCall?.(call);
  } catch (err) {
    req.log.error({ err, requestId }, 'STS call could not be audited');
    status = 500;
    xml = stsErrorXml('InternalFailure', `An internal error occurred. Request ID: ${requestId}`, requestId, true);
  }
  return reply.code(status).header('content-type', 'text/xml').header('x-amzn-requestid', requestId).send(xml);
}

/**
 * Serves STS on POST / next to the AWS JSON services: a preHandler hook takes form-encoded
 * requests scoped to "sts" before the JSON route sees them. Call after the body parser that
 * reads every body as a Buffer is installed (src/http/app.ts does that).
 */
export function registerSts(app: FastifyInstance, deps: StsDeps): void {
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || (req.url !== '/' && !req.url.startsWith('/?')) || !isStsRequest(req)) return;
    await handleStsRequest(req, reply, deps);
    return reply;
  });
}
