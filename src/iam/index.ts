// The identity component: what the HTTP adapters and the services import. See docs/IAM.md.
export { IamService, type IamServiceOptions, type KmsAuthorization } from './service.ts';
export type { Identity, IdentityType } from './identity.ts';
export { AccessKeyStore, type AccessKeyRecord } from './access-keys.ts';
export { verifySigV4, verifySigV4Async, headersFromRaw, parseAuthorization, accessKeyIdOf, type SignedRequest, type Credential } from './sigv4.ts';
export { isDbAuthToken, dbUserArn, DB_CONNECT_ACTION, type DbAuthTokenInput } from './db-auth-token.ts';
export { signRequest, type SigningCredentials } from './sigv4-sign.ts';
export { ExpiredTokenException, DeleteConflictException, InvalidAuthenticationCodeException } from './errors.ts';
export * from './policy/index.ts';
