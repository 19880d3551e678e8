// The AWS Query protocol adapter (POST /, Content-Type application/x-www-form-urlencoded,
// Action=...&Version=..., XML results, XML errors), shared by every Query service: STS today
// (src/http/sts.ts), the RDS API next. A service registers its signing name, API version, XML
// namespace, operation table and result serializer; this module does the rest (docs/ARCHITECTURE.md,
// "Adding a protocol or a service").
//
// Routing: a signed request goes to the service its SigV4 credential scope names ("sts", "rds");
// an unsigned one (refused by authentication anyway) by its Version parameter, else the first
// registered service. Errors:
//   <ErrorResponse xmlns=ns><Error><Type>Sender|Receiver</Type><Code>..</Code><Message>..</Message></Error>
//   <RequestId>..</RequestId></ErrorResponse>
import { InvalidAction, MissingAction, RekeyError, RequestEntityTooLargeException } from '../errors.ts';
import { parseForm as parseStrictForm } from '../rds/form.ts';
import type { Identity, RequestFacts } from '../iam/identity.ts';
import type { ServiceName } from '../audit/event.ts';
import { bodyOf, scopeService, type AwsService, type Protocol, type WireRoute, type WireReply, type WireRequest } from './pipeline.ts';

/** Request parameters of a Query call (no prototype: "constructor" is just a parameter name). */
export type QueryParams = Readonly<Record<string, string>>;

/** One Query operation: runs with the parsed parameters, returns the members of <ActionResult>. */
export type QueryOperation = (params: QueryParams, caller: Identity, request: RequestFacts) => Promise<Record<string, unknown>>;

export interface QueryService {
  /** SigV4 credential scope service name ("sts", "rds"). */
  signingName: string;
  /** The API version (Version=...): "2011-06-15" for STS, "2014-10-31" for RDS. */
  version: string;
  /** XML namespace of responses and errors. */
  xmlNamespace: string;
  auditName: ServiceName;
  /** Credential-scope regions accepted (default: the server's region). */
  regions?: readonly string[];
  /** Operation table by Action name. */
  operations: ReadonlyMap<string, QueryOperation>;
  /** The wire code and status for a rekey error (default: the error's own code and status). */
  errorCode?(err: RekeyError): { code: string; status: number };
  /** The XML inside <ActionResult> (default: xmlMembers of the operation's result). */
  serialize?(action: string, result: Record<string, unknown>): string;
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
export const el = (name: string, value: string) => `<${name}>${esc(value)}</${name}>`;

/** Default result serializer: objects become nested elements, arrays <member> lists, Dates ISO 8601. */
export function xmlMembers(value: Record<string, unknown>): string {
  let out = '';
  for (const [k, v] of Object.entries(value)) out += xmlValue(k, v);
  return out;
}

function xmlValue(name: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return el(name, v.toISOString());
  if (Array.isArray(v)) return `<${name}>${v.map((item) => xmlValue('member', item)).join('')}</${name}>`;
  if (typeof v === 'object') return `<${name}>${xmlMembers(v as Record<string, unknown>)}</${name}>`;
  return el(name, String(v));
}

/** The success envelope around a serialized `<Action>Result` body. */
export function queryResultXml(namespace: string, action: string, inner: string, requestId: string): string {
  return `<${action}Response xmlns="${namespace}"><${action}Result>${inner}</${action}Result><ResponseMetadata>${el('RequestId', requestId)}</ResponseMetadata></${action}Response>`;
}

export function queryErrorXml(namespace: string, code: string, message: string, requestId: string, server = false): string {
  return `<ErrorResponse xmlns="${namespace}"><Error><Type>${server ? 'Receiver' : 'Sender'}</Type>${el('Code', code)}${el('Message', message)}</Error>${el('RequestId', requestId)}</ErrorResponse>`;
}

/** The form body as parameters; MalformedQueryString for bad percent-encoding, repeated names, too many pairs. */
function parseForm(body: Buffer): QueryParams {
  const params = Object.create(null) as Record<string, string>;
  for (const [k, v] of parseStrictForm(body.toString('utf8'))) params[k] = v;
  return params;
}

/** refusedService reads Version from at most this much of a malformed body (the body limit bounds it anyway). */
const MAX_LENIENT_BODY = 1 << 20;

const invalidAction = (action: string, version: string) => new InvalidAction(`Could not find operation ${action.slice(0, 64)} for version ${version}`);

/** An error under the name a protocol gives it on the wire (for the audit event). */
class WireCodedError extends RekeyError {
  constructor(readonly code: string, readonly status: number, message: string) {
    super(message);
  }
}

/** The wire error for a rekey error: the service's mapping, internal errors without details. */
function wireError(svc: QueryService | undefined, err: RekeyError, requestId: string): { code: string; status: number; message: string } {
  if (err.fault === 'server') return { code: 'InternalFailure', status: 500, message: `An internal error occurred. Request ID: ${requestId}` };
  if (err instanceof RequestEntityTooLargeException) return { code: err.code, status: err.status, message: err.message };
  const m = svc?.errorCode ? svc.errorCode(err) : { code: err.code, status: err.status };
  return { ...m, message: err.message };
}

/** The Query protocol with its registered services. */
export class QueryProtocol implements Protocol {
  readonly name = 'query';
  private readonly bySigningName = new Map<string, QueryService>();
  private readonly byVersion = new Map<string, QueryService>();
  private readonly services = new Map<QueryService, AwsService>();
  private first: QueryService | undefined;
  /** Parsed parameters per request (parsed once, in the parse stage). */
  private readonly params = new WeakMap<WireRequest, QueryParams>();

  constructor(private readonly defaultRegions: readonly string[]) {}

  register(svc: QueryService): void {
    if (this.bySigningName.has(svc.signingName)) throw new Error(`Query service ${svc.signingName} is registered twice`);
    this.bySigningName.set(svc.signingName, svc);
    this.byVersion.set(svc.version, svc);
    this.first ??= svc;
    this.services.set(svc, {
      signingName: svc.signingName, auditName: svc.auditName, regions: svc.regions ?? this.defaultRegions,
      call: async (operation, input, caller, request) => {
        if (operation === '') throw new MissingAction('The request must contain the parameter Action.');
        const op = svc.operations.get(operation);
        if (!op) throw invalidAction(operation, svc.version);
        return op(input as QueryParams, caller, request);
      },
    });
  }

  /** Form-encoded POST / without X-Amz-Target (JSON clients always send their content type). */
  accepts(req: WireRequest): boolean {
    const ct = req.headers['content-type'];
    return typeof ct === 'string' && ct.toLowerCase().startsWith(FORM_CONTENT_TYPE) && req.headers['x-amz-target'] === undefined;
  }

  /** The service a request is for, before its body is parsed (for errors raised by the body parser). */
  serviceOf(req: WireRequest, params?: QueryParams): QueryService | undefined {
    const scope = scopeService(req);
    const signed = scope !== undefined ? this.bySigningName.get(scope) : undefined;
    if (signed) return signed;
    const version = params?.['Version'];
    return (version !== undefined ? this.byVersion.get(version) : undefined) ?? this.first;
  }

  route(req: WireRequest, body: Buffer): WireRoute {
    const params = parseForm(body);
    this.params.set(req, params);
    const svc = this.serviceOf(req, params);
    if (!svc) throw invalidAction(params['Action'] ?? '', params['Version'] ?? '');
    return { service: this.services.get(svc)!, operation: params['Action'] ?? '' };
  }

  /**
   * A body the strict parser refused (MalformedQueryString) is recorded under the service the request
   * would have been routed to: its credential scope, else a Version read leniently (URLSearchParams
   * never throws), else the first registered service, as route() does for well-formed bodies.
   */
  refusedService(req: WireRequest): AwsService | undefined {
    let version: string | null = null;
    if (scopeService(req) === undefined) {
      const raw = bodyOf(req);
      version = raw.length <= MAX_LENIENT_BODY ? new URLSearchParams(raw.toString('utf8')).get('Version') : null;
    }
    const svc = this.serviceOf(req, version === null ? undefined : { Version: version });
    return svc ? this.services.get(svc) : undefined;
  }

  input(req: WireRequest): unknown {
    return this.params.get(req) ?? (Object.create(null) as QueryParams);
  }

  private svcOf(route: WireRoute | null): QueryService | undefined {
    if (!route) return undefined;
    for (const [svc, aws] of this.services) if (aws === route.service) return svc;
    return undefined;
  }

  /** The audit event records the code the client saw (STS: AccessDenied, not AccessDeniedException). */
  auditError(err: RekeyError, route: WireRoute | null): RekeyError {
    const svc = this.svcOf(route);
    if (!svc?.errorCode || err.fault === 'server') return err;
    const { code } = svc.errorCode(err);
    if (code === err.code) return err;
    return new WireCodedError(code, err.status, err.message);
  }

  sendResult(reply: WireReply, route: WireRoute, result: Record<string, unknown>, requestId: string): WireReply {
    const svc = this.svcOf(route)!;
    const action = route.operation;
    const xml = queryResultXml(svc.xmlNamespace, action, svc.serialize ? svc.serialize(action, result) : xmlMembers(result), requestId);
    return reply.code(200).header('content-type', 'text/xml').header('x-amzn-requestid', requestId).send(xml);
  }

  sendError(reply: WireReply, err: RekeyError, requestId: string, route: WireRoute | null): WireReply {
    const svc = this.svcOf(route) ?? this.serviceOf(reply.request);
    const w = wireError(svc, err, requestId);
    const ns = svc?.xmlNamespace ?? '';
    return reply.code(w.status).header('content-type', 'text/xml').header('x-amzn-requestid', requestId)
      .send(queryErrorXml(ns, w.code, w.message, requestId, w.status >= 500));
  }
}
