// The identity component's errors live in src/errors.ts (one taxonomy); re-exported here with
// the message constants the component uses.
export { ExpiredTokenException, DeleteConflictException, InvalidAuthenticationCodeException } from '../errors.ts';

export const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired';
export const INVALID_TOKEN_MESSAGE = 'The security token included in the request is invalid.';


