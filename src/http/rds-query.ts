// The Amazon RDS Query protocol on POST / (form-encoded Action=...&Version=2014-10-31, SigV4
// service "rds", XML responses), around src/rds. Kept thin and separate so that the one request
// pipeline (issue 12) can take it as a protocol adapter: the operation table, the result and error
// serializers, and the handler are exported; registerRds() is today's hook into app.ts.
//
// Wire shapes (botocore/data/rds/2014-10-31/service-2.json, xmlNamespace
// http://rds.amazonaws.com/doc/2014-10-31/; each output has a resultWrapper "<Action>Result"):
//   <CreateDBInstanceResponse xmlns="..."><CreateDBInstanceResult><DBInstance>...</DBInstance>
//   </CreateDBInstanceResult><ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></CreateDBInstanceResponse>
//   lists wrap each element in the member's locationName: <DBInstances><DBInstance>, <TagList><Tag>,
//   <DBEngineVersions><DBEngineVersion>; errors:
//   <ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>
import { XMLBuilder } from 'fast-xml-parser';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InternalFailure, RekeyError } from '../errors.ts';
import type { DbService } from '../db/api.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity } from '../iam/identity.ts';
import { accessKeyIdOf } from '../iam/sigv4.ts';
import { AuditedCall, type CallContext } from '../audit/index.ts';
import type { Appender } from '../audit/call.ts';
import { parseForm, type QueryParams } from '../rds/form.ts';
import { RdsApi, auditOutputOf, type PreparedCall } from '../rds/api.ts';
import type { RdsResult } from '../rds/wire.ts';
import { bodyOf, signedRequestOf } from './signed-request.ts';
import { stsError } from './sts.ts';

export { RDS_OPERATION_TABLE } from '../rds/operations/index.ts';
export const RDS_NAMESPACE = 'http://rds.amazonaws.com/doc/2014-10-31/';

/** List members and the element name of each item (the model's member locationName). */
const LIST_ITEM: Readonly<Record<string, string>> = { DBInstances: 'DBInstance', TagList: 'Tag', DBEngineVersions: 'DBEngineVersion', DBSnapshots: 'DBSnapshot' };

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, processEntities: true });

function xmlValue(name: string, v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  if (Array.isArray(v)) {
    const item = LIST_ITEM[name] ?? 'member';
    return v.length === 0 ? {} : { [item]: v.map((x) => xmlValue(item, x)) };
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = xmlValue(k, x);
    return out;
  }
  return '';
}

/** The success body for `action` with its result members. */
export function rdsResultXml(action: string, result: RdsResult, requestId: string): string {
  return builder.build({
    [`${action}Response`]: {
      '@_xmlns': RDS_NAMESPACE,
      [`${action}Result`]: xmlValue(`${action}Result`, result),
      ResponseMetadata: { RequestId: requestId },
    },
  }) as string;
}

export function rdsErrorXml(code: string, message: string, requestId: string, server = false): string {
  return builder.build({
    ErrorResponse: { '@_xmlns': RDS_NAMESPACE, Error: { Type: server ? 'Receiver' : 'Sender', Code: code, Message: message }, RequestId: requestId },
  }) as string;
}

/** The RDS Query code and status of a rekey error (the STS mapping for authentication and access; RDS's Throttling). */
export function rdsError(e: RekeyError): { code: string; status: number } {
  if (e.code === 'ThrottlingException') return { code: 'Throttling', status: 400 };
  return stsError(e);
}

const RDS_VERSION_PARAM = /(?:^|&)Version=2014-10-31(?:&|$)/;

/**
 * Whether a POST / request is an RDS Query call: form-encoded and signed with credential scope
 * service "rds"; or unsigned with Version=2014-10-31 in the body (so that it is refused as
 * MissingAuthenticationToken in RDS's shape, not STS's).
 */
export function isRdsRequest(req: FastifyRequest): boolean {
  const ct = req.headers['content-type'];
  if (typeof ct !== 'string' || !ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) return false;
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return RDS_VERSION_PARAM.test(bodyOf(req).toString('latin1'));
  const m = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(auth);
  return m?.[1] === 'rds';
}

export interface RdsQueryDeps {
  db: DbService;
  iam: IamService;
  /** Where each call's one audit event goes (the audit log; group commit). */
  audit: Appender;
  region: string;
  /** Extra checks after authentication (mTLS principal, quotas); throw a RekeyError to refuse. */
  afterAuthenticate?: (req: FastifyRequest, caller: Identity, action: string) => void;
}

/** An error carrying the RDS Query code of another rekey error (for the audit record). */
class WireCodedError extends RekeyError {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
  }
}

function asWireCode(e: RekeyError): RekeyError {
  if (e.fault === 'server') return e;
  const w = rdsError(e);
  return w.code === e.code ? e : new WireCodedError(w.code, w.status, e.message);
}

const INTERNAL = (id: string) => `An internal error occurred. Request ID: ${id}`;

/** Sends a rekey error in RDS's shape (for errors raised before the handler runs: body too large, unreadable). */
export function sendRdsError(reply: FastifyReply, e: RekeyError, requestId: string): FastifyReply {
  const { code, status } = e.fault !== 'server' ? rdsError(e) : { code: 'InternalFailure', status: 500 };
  const message = e.fault !== 'server' ? e.message : INTERNAL(requestId);
  return reply.code(status).header('content-type', 'text/xml').header('x-amzn-requestid', requestId).send(rdsErrorXml(code, message, requestId, status >= 500));
}

/** Handles one RDS Query request. Always sends a response; every call (allowed, denied, invalid) is audited once. */
export async function handleRdsRequest(req: FastifyRequest, reply: FastifyReply, api: RdsApi, deps: RdsQueryDeps): Promise<FastifyReply> {
  const requestId = req.id;
  const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '';
  const facts = { sourceIp: req.ip, secureTransport: req.protocol === 'https' };
  const ctx: Omit<CallContext, 'input' | 'caller'> = { service: 'rds', operation: 'UnknownOperation', requestId, sourceIp: req.ip, userAgent: ua, region: deps.region, now: new Date() };
  let caller: Identity | null = null;
  let params: QueryParams = new Map();
  let prepared: PreparedCall | null = null;
  let audited: AuditedCall | null = null;
  try {
    const body = bodyOf(req);
    caller = await deps.iam.authenticate(signedRequestOf(req, body), 'rds');
    params = parseForm(body.toString('utf8'));
    ctx.operation = (params.get('Action') ?? '').slice(0, 64);
    deps.afterAuthenticate?.(req, caller, ctx.operation);
    prepared = api.prepare(params);
    api.authorize(prepared, caller, facts);
    const call = new AuditedCall(deps.audit, { ...ctx, input: prepared.input, caller, resources: prepared.resource === '*' ? [] : [prepared.resource] });
    audited = call;
    const result = await api.run(prepared, { caller, requestId, ...facts, userAgent: ua, beforeCommit: (partial) => call.succeeded(auditOutputOf(partial)) });
    await call.succeeded(result);
    return reply.code(200).header('content-type', 'text/xml').header('x-amzn-requestid', requestId).send(rdsResultXml(prepared.operation.name, result, requestId));
  } catch (err) {
    let rk: RekeyError | null = err instanceof RekeyError ? err : null;
    if (!rk) req.log.error({ err, requestId }, 'unexpected error');
    // a failed call is recorded with what was decoded (or the raw scalar parameters; the allowlist keeps passwords out)
    const input = prepared?.input ?? Object.fromEntries(params);
    const resources = prepared && prepared.resource !== '*' ? [prepared.resource] : [];
    const call = audited ?? new AuditedCall(deps.audit, { ...ctx, input, resources, caller: caller ?? { accessKeyId: accessKeyIdOf(req.headers) ?? '' } });
    try {
      // recorded under the code the caller sees (AccessDenied, InvalidClientTokenId), as CloudTrail does
      await call.failed(rk ? asWireCode(rk) : err);
    } catch (auditErr) {
      rk = auditErr instanceof RekeyError ? auditErr : null;
    }
    return sendRdsError(reply, rk ?? new InternalFailure(INTERNAL(requestId)), requestId);
  }
}

/**
 * Serves RDS on POST / next to the AWS JSON services and STS: a preHandler hook takes form-encoded
 * requests signed for "rds" (STS keeps the others: isStsRequest). Call after app.ts installs the
 * body parser that reads every body as a Buffer, and before registerSts (an unsigned request with
 * Version=2014-10-31 is RDS's to refuse).
 */
export function registerRds(app: FastifyInstance, deps: RdsQueryDeps): RdsApi {
  const api = new RdsApi({ db: deps.db, partition: deps.iam.partition, region: deps.iam.region, accountId: deps.iam.accountId }, deps.iam);
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || (req.url !== '/' && !req.url.startsWith('/?')) || !isRdsRequest(req)) return;
    await handleRdsRequest(req, reply, api, deps);
    return reply;
  });
  return api;
}
