// One error taxonomy for all of rekey, with AWS's exception names. Each class knows its wire name,
// whether it is the client's or the server's fault, and its HTTP status (from the AWS service
// model). Errors are serialized in exactly one place: src/http/aws-json.ts.
// docs/errors.md lists every code; test/errors-catalogue.test.ts keeps the two in step.

export abstract class RekeyError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly fault: 'client' | 'server' = 'client';
  constructor(message: string) {
    super(message);
  }
  override get name(): string {
    return this.code;
  }
}

function define(code: string, status: number, fault: 'client' | 'server' = 'client') {
  const C = class extends RekeyError {
    readonly code = code;
    readonly status = status;
    override readonly fault = fault;
  };
  Object.defineProperty(C, 'name', { value: code });
  return C;
}

// ---- AWS protocol / request errors
export const SerializationException = define('SerializationException', 400);
export const UnknownOperationException = define('UnknownOperationException', 400);
export const ValidationException = define('ValidationException', 400);
export const RequestEntityTooLargeException = define('RequestEntityTooLargeException', 413);
export const MissingAuthenticationTokenException = define('MissingAuthenticationTokenException', 403);
export const IncompleteSignatureException = define('IncompleteSignatureException', 400);
export const UnrecognizedClientException = define('UnrecognizedClientException', 400);
export const InvalidSignatureException = define('InvalidSignatureException', 400);
export const AccessDeniedException = define('AccessDeniedException', 400);
export const ThrottlingException = define('ThrottlingException', 400);
export const ExpiredTokenException = define('ExpiredTokenException', 400);
// ---- HTTP-level refusals before any operation runs (answered in the protocol's error shape)
export const RouteNotFoundException = define('RouteNotFoundException', 404);
export const RequestTimeoutException = define('RequestTimeoutException', 408);
export const RequestUriTooLongException = define('RequestUriTooLongException', 414);
export const RequestHeaderFieldsTooLargeException = define('RequestHeaderFieldsTooLargeException', 431);

// ---- IAM admin API
export const DeleteConflictException = define('DeleteConflictException', 409);
export const InvalidAuthenticationCodeException = define('InvalidAuthenticationCodeException', 403);

// ---- KMS. The service model carries 404/409 httpError traits, but AWS KMS (a JSON 1.1 service)
// answers every client error with 400 on the wire, as recorded against the real service; we follow
// the wire. DryRunOperationException keeps the model's 412.
export const NotFoundException = define('NotFoundException', 400);
export const AlreadyExistsException = define('AlreadyExistsException', 400);
export const DisabledException = define('DisabledException', 400);
export const KMSInvalidStateException = define('KMSInvalidStateException', 400);
export const InvalidCiphertextException = define('InvalidCiphertextException', 400);
export const IncorrectKeyException = define('IncorrectKeyException', 400);
export const InvalidKeyUsageException = define('InvalidKeyUsageException', 400);
export const InvalidArnException = define('InvalidArnException', 400);
export const InvalidAliasNameException = define('InvalidAliasNameException', 400);
export const InvalidMarkerException = define('InvalidMarkerException', 400);
export const InvalidGrantTokenException = define('InvalidGrantTokenException', 400);
export const InvalidGrantIdException = define('InvalidGrantIdException', 400);
export const LimitExceededException = define('LimitExceededException', 400);
export const MalformedPolicyDocumentException = define('MalformedPolicyDocumentException', 400);
export const TagException = define('TagException', 400);
export const UnsupportedOperationException = define('UnsupportedOperationException', 400);
export const KMSInternalException = define('KMSInternalException', 500, 'server');
// AWS KMS answers CreateAlias/UpdateAlias/DeleteAlias on a reserved `alias/aws/` name with this
// (it is not in the service model, so SDKs surface it as a generic service exception).
export const NotAuthorizedException = define('NotAuthorizedException', 400);
// AWS KMS: "The request was rejected because the DryRun parameter was specified." (HTTP 412)
export const DryRunOperationException = define('DryRunOperationException', 412);

// ---- Secrets Manager (every client error is 400 on the wire, as in AWS)
export const ResourceNotFoundException = define('ResourceNotFoundException', 400);
export const ResourceExistsException = define('ResourceExistsException', 400);
export const InvalidRequestException = define('InvalidRequestException', 400);
export const InvalidParameterException = define('InvalidParameterException', 400);
export const InvalidNextTokenException = define('InvalidNextTokenException', 400);
export const PreconditionNotMetException = define('PreconditionNotMetException', 400);
export const DecryptionFailure = define('DecryptionFailure', 400);
export const EncryptionFailure = define('EncryptionFailure', 400);
export const InternalServiceError = define('InternalServiceError', 500, 'server');
export const PublicPolicyException = define('PublicPolicyException', 400);

// ---- rekey's own (admin API, storage, start-up)
export const InternalFailure = define('InternalFailure', 500, 'server');
export const ConfigurationError = define('ConfigurationError', 400);
export const SealedException = define('SealedException', 503, 'server');
export const CertificateAuthorityRotationStateException = define('CertificateAuthorityRotationStateException', 400);

// ---- secret rotation, database side (src/secrets/strategies). Recorded as a rotation job's last
// error; messages name the user, host and the database's error code, never a password or verifier.
export const DatabaseLoginFailedException = define('DatabaseLoginFailedException', 400);
export const DatabaseOperationException = define('DatabaseOperationException', 500, 'server');

// ---- Amazon RDS (Query protocol; the wire `Code` in the XML error). Statuses checked against the
// botocore rds model (data/rds/2014-10-31/service-2.json `error` traits: DBInstanceNotFound 404, the
// others 400); the codes without a model shape (InvalidParameterValue, InvalidParameterCombination,
// MissingParameter, MissingAction, InvalidAction, MalformedQueryString) from the RDS API Reference's
// "Common Errors" (MalformedQueryString is 404 there). src/rds owns these lines.
export const DBInstanceNotFoundFault = define('DBInstanceNotFound', 404);
export const DBInstanceAlreadyExistsFault = define('DBInstanceAlreadyExists', 400);
export const InvalidDBInstanceStateFault = define('InvalidDBInstanceState', 400);
export const KMSKeyNotAccessibleFault = define('KMSKeyNotAccessibleFault', 400);
export const InvalidParameterCombination = define('InvalidParameterCombination', 400);
export const InvalidParameterValue = define('InvalidParameterValue', 400);
export const MissingParameter = define('MissingParameter', 400);
export const InvalidAction = define('InvalidAction', 400);
export const MissingAction = define('MissingAction', 400);
export const MalformedQueryString = define('MalformedQueryString', 404);
export const StorageQuotaExceededFault = define('StorageQuotaExceeded', 400);
export const InstanceQuotaExceededFault = define('InstanceQuotaExceeded', 400);
// snapshots (issue 14; botocore rds model: DBSnapshotNotFound 404, the others 400)
export const DBSnapshotNotFoundFault = define('DBSnapshotNotFound', 404);
export const DBSnapshotAlreadyExistsFault = define('DBSnapshotAlreadyExists', 400);
export const InvalidDBSnapshotStateFault = define('InvalidDBSnapshotState', 400);
export const SnapshotQuotaExceededFault = define('SnapshotQuotaExceeded', 400);

export type RekeyErrorClass = ReturnType<typeof define>;

/** Every error class, by code. The catalogue test compares this list with docs/errors.md. */
// null prototype: a wire code of "constructor" or "__proto__" finds no class
export const ALL_ERRORS: Record<string, RekeyErrorClass> = Object.assign(Object.create(null) as Record<string, RekeyErrorClass>, Object.fromEntries(
  [
    SerializationException, UnknownOperationException, ValidationException, RequestEntityTooLargeException,
    MissingAuthenticationTokenException, IncompleteSignatureException, UnrecognizedClientException,
    InvalidSignatureException, AccessDeniedException, ThrottlingException, ExpiredTokenException,
    RouteNotFoundException, RequestTimeoutException, RequestUriTooLongException, RequestHeaderFieldsTooLargeException,
    DeleteConflictException, InvalidAuthenticationCodeException,
    NotFoundException, AlreadyExistsException, DisabledException, KMSInvalidStateException,
    InvalidCiphertextException, IncorrectKeyException, InvalidKeyUsageException, InvalidArnException,
    InvalidAliasNameException, InvalidMarkerException, InvalidGrantTokenException, InvalidGrantIdException, LimitExceededException,
    MalformedPolicyDocumentException, TagException, UnsupportedOperationException, KMSInternalException,
    NotAuthorizedException, DryRunOperationException,
    ResourceNotFoundException, ResourceExistsException, InvalidRequestException, InvalidParameterException,
    InvalidNextTokenException, PreconditionNotMetException, DecryptionFailure, EncryptionFailure, InternalServiceError, PublicPolicyException,
    InternalFailure, ConfigurationError, SealedException, CertificateAuthorityRotationStateException,
    DatabaseLoginFailedException, DatabaseOperationException,
    DBInstanceNotFoundFault, DBInstanceAlreadyExistsFault, InvalidDBInstanceStateFault, KMSKeyNotAccessibleFault,
    InvalidParameterCombination, InvalidParameterValue, MissingParameter, InvalidAction, MissingAction, MalformedQueryString, StorageQuotaExceededFault,
    InstanceQuotaExceededFault,
    DBSnapshotNotFoundFault, DBSnapshotAlreadyExistsFault, InvalidDBSnapshotStateFault, SnapshotQuotaExceededFault,
  ].map((c) => [c.name, c]),
));

/** Invariant check (AWS Encryption SDK's `needs`): throws an internal error when a precondition fails. */
export function needs(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InternalFailure(message);
}
