// Errors the identity component needs that src/errors.ts does not have yet. Same pattern as
// src/errors.ts (a RekeyError subclass with the AWS wire name, fault and HTTP status); to be
// merged into that file and its catalogue (docs/errors.md) by its owner.
import { RekeyError } from '../errors.ts';

function define(code: string, status: number) {
  const C = class extends RekeyError {
    readonly code = code;
    readonly status = status;
  };
  Object.defineProperty(C, 'name', { value: code });
  return C;
}

/**
 * AWS (KMS, Secrets Manager: ExpiredTokenException, HTTP 400): "The security token included in
 * the request is expired". STS's Query protocol names the same condition ExpiredToken.
 */
export const ExpiredTokenException = define('ExpiredTokenException', 400);

export const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired';
export const INVALID_TOKEN_MESSAGE = 'The security token included in the request is invalid.';

/** AWS IAM DeleteConflict (HTTP 409): "Cannot delete entity, must delete access keys first." */
export const DeleteConflictException = define('DeleteConflictException', 409);

/** AWS IAM InvalidAuthenticationCode (HTTP 403): "Authentication code for device is not valid." */
export const InvalidAuthenticationCodeException = define('InvalidAuthenticationCodeException', 403);
