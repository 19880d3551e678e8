// What the proxy needs from the rest of rekey, as interfaces: src/server.ts wires them to the
// secrets service, IAM and the audit log. The proxy never imports those modules directly.

/** Database credentials from a secret version (AWS's database secret JSON: username, password, ...). */
export interface SecretCredentials {
  versionId: string;
  username: string;
  password: string;
  host?: string;
  port?: number;
  dbname?: string;
  /** When this version became AWSPREVIOUS (for the client-auth grace period); undefined for AWSCURRENT. */
  demotedAt?: Date;
}

export interface SecretSource {
  /** The AWSCURRENT credentials of a secret (fresh read: callers cache). */
  current(secretId: string): Promise<SecretCredentials>;
  /** The AWSPREVIOUS credentials, if any. */
  previous(secretId: string): Promise<SecretCredentials | undefined>;
  /** Called after a rotation of `secretArn` finishes (AWSCURRENT moved). Returns an unsubscribe function. */
  onRotated(listener: (secretArn: string) => void): () => void;
}

/**
 * IAM database authentication. The client sends an `@aws-sdk/rds-signer` token (a SigV4-presigned
 * `connect` URL for `<hostname>:<port>` and the user) as a cleartext password over TLS; this
 * verifies the signature against rekey's principals and authorizes `rds-db:connect` on
 * `arn:aws:rds-db:<region>:<account>:dbuser:<resourceId>/<user>`. Resolves to the principal's ARN;
 * rejects with an error whose message is safe to show the client (never the token).
 */
export interface IamTokenVerifier {
  verifyIamToken(r: { token: string; user: string; expectedHosts: readonly string[]; resourceId: string; sourceIp?: string }): Promise<{ principalArn: string }>;
}

/**
 * Where the chosen upstream of each target is kept (src/server/proxy.ts: the barrier), so a restart
 * or another node serving the same target uses the endpoint of the last cutover. `save` with a
 * call's gate writes only after that call's audit event is durable (and not at all when it is not).
 */
export interface UpstreamStore {
  load(target: string): Promise<{ host: string; port: number } | undefined>;
  save(target: string, endpoint: { host: string; port: number }, gate?: { pass(): Promise<void> }): Promise<void>;
}
