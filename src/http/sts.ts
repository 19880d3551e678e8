// AWS STS as a Query-protocol service (src/http/query.ts) around src/iam/sts.ts, so that
// `aws sts get-session-token --endpoint-url ...` and the SDKs' STS clients work unchanged.
// Reference: AWS STS API Reference (response elements, common errors) and the Query protocol.
import { RekeyError, ValidationException } from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import { queryErrorXml, type QueryOperation, type QueryParams, type QueryService } from './query.ts';

export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const STS_VERSION = '2011-06-15';

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
    case 'SerializationException': return { code: 'MalformedInput', status: 400 };
    default: return { code: e.code, status: e.status };
  }
}

export function stsErrorXml(code: string, message: string, requestId: string, server = false): string {
  return queryErrorXml(STS_NAMESPACE, code, message, requestId, server);
}

function intParam(p: QueryParams, name: string): number | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (!/^-?\d{1,12}$/.test(v)) throw new ValidationException(`1 validation error detected: Value '${v.slice(0, 64)}' at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must be an integer`);
  return Number(v);
}

function opt<K extends string>(key: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: string };
}

const credentials = (c: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: string }) =>
  ({ AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration });

/** The STS service: its operation table over IamService.sts. */
export function stsService(iam: IamService, regions: readonly string[] = [iam.region, 'us-east-1']): QueryService {
  const sts = iam.sts;
  const operations = new Map<string, QueryOperation>([
    ['GetSessionToken', async (p, caller) => {
      const d = intParam(p, 'DurationSeconds');
      const c = await sts.getSessionToken(caller, { ...(d !== undefined ? { durationSeconds: d } : {}), ...opt('serialNumber', p['SerialNumber']), ...opt('tokenCode', p['TokenCode']) });
      return { Credentials: credentials(c) };
    }],
    ['AssumeRole', async (p, caller, request) => {
      const d = intParam(p, 'DurationSeconds');
      const r = await sts.assumeRole(caller, {
        roleArn: p['RoleArn'] ?? '', roleSessionName: p['RoleSessionName'] ?? '',
        sourceIp: request.sourceIp ?? '', secureTransport: request.secureTransport === true,
        ...(d !== undefined ? { durationSeconds: d } : {}), ...opt('externalId', p['ExternalId']), ...opt('serialNumber', p['SerialNumber']), ...opt('tokenCode', p['TokenCode']),
      });
      return { Credentials: credentials(r.credentials), AssumedRoleUser: { AssumedRoleId: r.assumedRoleUser.assumedRoleId, Arn: r.assumedRoleUser.arn } };
    }],
    ['GetCallerIdentity', async (_p, caller) => {
      const c = sts.getCallerIdentity(caller);
      return { Arn: c.arn, UserId: c.userId, Account: c.account };
    }],
  ]);
  return {
    signingName: 'sts', version: STS_VERSION, xmlNamespace: STS_NAMESPACE, auditName: 'sts', regions, operations,
    errorCode: stsError,
  };
}
