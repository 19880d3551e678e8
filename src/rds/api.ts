// The RDS API's domain side: what the Query adapter (src/http/rds-query.ts) calls. Each call goes
// decode/validate -> authorize (rds:<Action> on the resource ARN, identity policies through the
// IAM policy evaluator; the account's root is allowed as everywhere) -> run against the DbService,
// whose mutating methods pass the audit gate (DbCallContext.beforeCommit) before their first write.
// Unknown actions and a wrong Version are InvalidAction, as AWS answers them.
import { InvalidAction, MissingAction } from '../errors.ts';
import type { DbCallContext } from '../db/api.ts';
import type { Identity } from '../iam/identity.ts';
import type { QueryParams } from './form.ts';
import type { AnyRdsOperation, RdsEnv } from './operation.ts';
import { RDS_OPERATION_TABLE } from './operations/index.ts';
import { RDS_API_VERSION, toWireInstance, type RdsResult } from './wire.ts';
import type { DbInstance } from '../db/api.ts';
import { clip } from './validate.ts';

/** The authorization entry point rekey's IAM offers (IamService.authorizeAdmin: identity policies, throws AccessDeniedException). */
export interface RdsAuthorizer {
  authorizeAdmin(identity: Identity, action: string, resource: string, info?: { sourceIp?: string; secureTransport?: boolean }): unknown;
}

/** A decoded, validated request, ready to authorize and run. */
export interface PreparedCall {
  operation: AnyRdsOperation;
  /** The wire request (PascalCase, typed): what the audit trail's allowlist reads. */
  input: unknown;
  /** The resource the call is authorized on: an instance ARN or "*". */
  resource: string;
}

/** The operation an Action names, checking Version; MissingAction / InvalidAction otherwise. */
export function operationOf(params: QueryParams): AnyRdsOperation {
  const action = params.get('Action');
  if (action === undefined || action === '') throw new MissingAction('The request must contain the parameter Action.');
  const version = params.get('Version') ?? '';
  const op = RDS_OPERATION_TABLE.get(action);
  if (!op || version !== RDS_API_VERSION) throw new InvalidAction(`Could not find operation ${clip(action)} for version ${clip(version)}`);
  return op;
}

export class RdsApi {
  constructor(readonly env: RdsEnv, private readonly iam: RdsAuthorizer) {}

  /** Decodes and validates; throws MissingAction, InvalidAction, MissingParameter, InvalidParameterValue, InvalidParameterCombination, MalformedQueryString. */
  prepare(params: QueryParams): PreparedCall {
    const operation = operationOf(params);
    const input: unknown = operation.decode(params);
    return { operation, input, resource: operation.resource(input, this.env) };
  }

  /** Throws AccessDeniedException (AWS's message) unless the caller may perform rds:<Action> on the resource. */
  authorize(call: PreparedCall, caller: Identity, facts: { sourceIp?: string; secureTransport?: boolean }): void {
    this.iam.authorizeAdmin(caller, `rds:${call.operation.name}`, call.resource, facts);
  }

  run(call: PreparedCall, ctx: DbCallContext): Promise<RdsResult> {
    return call.operation.run(call.input, this.env, ctx);
  }
}

/**
 * What the audit gate records as a mutating call's response when the DbService passes its
 * partial output to beforeCommit: a DbInstance becomes { DBInstance } in wire shape; anything else
 * is recorded without response elements.
 */
export function auditOutputOf(partial: unknown): RdsResult {
  const p = partial as Partial<DbInstance> | null | undefined;
  if (p && typeof p === 'object' && typeof p.id === 'string' && typeof p.arn === 'string' && typeof p.resourceId === 'string' && p.createdAt instanceof Date) {
    return { DBInstance: toWireInstance(p as DbInstance) };
  }
  return {};
}
