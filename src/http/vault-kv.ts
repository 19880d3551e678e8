// The Vault KV v2 subset MariaDB's hashicorp_key_management plugin speaks (docs/MARIADB.md), over
// src/keyserve. With `hashicorp-key-management-vault-url=<rekey>/v1/mariadb/<keyring>` the plugin
// sends, with an X-Vault-Token header:
//   GET /v1/sys/mounts/mariadb/<keyring>/tune         at start (check-kv-version): {"options":{"version":"2"}}
//   GET /v1/mariadb/<keyring>/data/<key id>            the latest version
//   GET /v1/mariadb/<keyring>/data/<key id>?version=N  one version
// and reads data.data.data (the key, hexadecimal) and data.metadata.version. A 404 is "no such key"
// to the plugin; any other status is an error it logs with the body.
// Errors are Vault's: {"errors":[...]} with 403 (missing, bad, revoked or out-of-scope token, or a
// principal no longer allowed: all the same "permission denied"), 404 (unknown path, key or
// version, including a retired one: {"errors":[]}), 405 (another method), 400 (bad version), 500 (internal, with request id).
// A KMS key that cannot be used (disabled, pending deletion) answers 403 with the reason, so the
// MariaDB error log says why. Every answered read is audited (eventSource rekey.keyserve,
// rekey:GetMariaDbKey, the token's principal); a read that cannot be audited is refused (500).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RekeyError } from '../errors.ts';
import { adminEvent, type Appender } from '../audit/index.ts';
import type { Identity } from '../iam/identity.ts';
import type { KeyserveService } from '../keyserve/service.ts';
import { READ_ACTION } from '../keyserve/model.ts';

export const VAULT_MOUNT = 'mariadb';
const TUNE = { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false, description: 'rekey keyserve (KV v2 subset)', options: { version: '2' } };

class VaultError extends Error {
  constructor(readonly status: number, readonly errors: string[]) {
    super(errors[0] ?? String(status));
  }
}

function sendVault(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').header('cache-control', 'no-store').send(JSON.stringify(body));
}

export interface VaultKvDeps {
  keyserve: KeyserveService;
  audit: Appender;
  region: string;
  accountId: string;
}

/** Registers the Vault KV routes (before the app listens). */
export function registerVaultKv(app: FastifyInstance, deps: VaultKvDeps): void {
  app.all(`/v1/${VAULT_MOUNT}/*`, (req, reply) => serve(req, reply, deps, 'data'));
  app.all(`/v1/sys/mounts/${VAULT_MOUNT}/*`, (req, reply) => serve(req, reply, deps, 'tune'));
}

/** `<keyring>/data/<id>` or, for sys/mounts, `<keyring>/tune`; anything else is an unknown path. */
function parsePath(rest: string, kind: 'data' | 'tune'): { keyring: string; keyId?: number } | null {
  const parts = rest.split('/');
  if (kind === 'tune') return parts.length === 2 && parts[1] === 'tune' ? { keyring: parts[0]! } : null;
  if (parts.length !== 3 || parts[1] !== 'data' || !/^[0-9]{1,10}$/.test(parts[2]!)) return null;
  const keyId = Number(parts[2]);
  return keyId >= 1 && keyId <= 0xffffffff ? { keyring: parts[0]!, keyId } : null;
}

async function serve(req: FastifyRequest, reply: FastifyReply, deps: VaultKvDeps, kind: 'data' | 'tune'): Promise<FastifyReply> {
  const requestId = req.id;
  const q = req.url.indexOf('?');
  const path = decodeURIComponentSafe(req.url.slice(0, q < 0 ? undefined : q));
  const query = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1));
  const prefix = kind === 'data' ? `/v1/${VAULT_MOUNT}/` : `/v1/sys/mounts/${VAULT_MOUNT}/`;
  const parsed = path === null ? null : parsePath(path.slice(prefix.length), kind);
  const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : '';
  const input: Record<string, unknown> = { keyring: parsed?.keyring ?? null, keyId: parsed?.keyId ?? null, version: query.get('version'), kind };
  let identity: Identity | null = null;
  let accessor: string | null = null;
  let error: RekeyError | VaultError | null = null;
  let body: unknown;
  try {
    if (!parsed) throw new VaultError(404, []);
    const token = req.headers['x-vault-token'];
    // the token first: a stranger learns nothing (not even which methods exist)
    const auth = await deps.keyserve.authenticate(typeof token === 'string' ? token : '', parsed.keyring, { sourceIp: req.ip, secureTransport: req.protocol === 'https' });
    identity = auth.identity;
    accessor = auth.accessor;
    if (req.method !== 'GET') throw new VaultError(405, []);
    if (kind === 'tune') {
      body = { ...TUNE, request_id: requestId, data: TUNE };
    } else {
      const vs = query.get('version');
      if (vs !== null && !/^[0-9]{1,10}$/.test(vs)) throw new VaultError(400, ['invalid version']);
      const version = vs === null || vs === '0' ? undefined : Number(vs);
      const k = await deps.keyserve.read(parsed.keyring, parsed.keyId!, version);
      body = {
        request_id: requestId, lease_id: '', renewable: false, lease_duration: 0,
        data: { data: { data: k.hex }, metadata: { created_time: new Date(k.createdAt).toISOString(), custom_metadata: null, deletion_time: '', destroyed: false, version: k.version } },
        wrap_info: null, warnings: null, auth: null,
      };
      input['servedVersion'] = k.version;
    }
  } catch (e) {
    error = e instanceof VaultError || (e instanceof RekeyError && e.fault === 'client') ? e : null;
    if (!error) {
      req.log.error({ err: e, requestId }, 'unexpected error');
      error = new VaultError(500, [`internal error (request id ${requestId})`]);
    }
  }
  // every answer is audited, unknown paths too (no resource then)
  {
    const errCode = error instanceof RekeyError ? error : error ? vaultRekeyError(error) : undefined;
    try {
      await deps.audit.append(adminEvent({
        action: READ_ACTION, eventSource: 'rekey.keyserve', input: { ...input, ...(accessor ? { accessor } : {}) },
        allow: ['keyring', 'keyId', 'version', 'kind', 'servedVersion', 'accessor'],
        caller: identity, requestId, sourceIp: req.ip, userAgent: ua, region: deps.region, now: new Date(), readOnly: true,
        resources: parsed ? [{ ARN: deps.keyserve.arnOf(parsed.keyring), type: 'Rekey::Admin::Resource', accountId: deps.accountId }] : [],
        ...(errCode ? { error: errCode } : {}),
      }));
    } catch (err) {
      req.log.error({ err, requestId }, 'keyserve read could not be audited');
      return sendVault(reply, 500, { errors: ['The request could not be audited; it was not performed.'] });
    }
  }
  if (!error) return sendVault(reply, 200, body);
  if (error instanceof VaultError) return sendVault(reply, error.status, { errors: error.errors });
  return sendVault(reply, ...vaultShape(error));
}

function decodeURIComponentSafe(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** A domain error as Vault would answer it. */
function vaultShape(e: RekeyError): [number, { errors: string[] }] {
  switch (e.code) {
    case 'AccessDeniedException': return [403, { errors: ['permission denied'] }];
    case 'NotFoundException': return [404, { errors: [] }];
    case 'DisabledException':
    case 'KMSInvalidStateException':
      return [403, { errors: [`the KMS key of this keyring cannot be used (${e.code}): ${e.message}`] }];
    default: return [400, { errors: [e.message] }];
  }
}

class VaultAuditError extends RekeyError {
  readonly status: number;
  constructor(readonly code: string, status: number) {
    super(code);
    this.status = status;
  }
}

function vaultRekeyError(e: VaultError): RekeyError {
  return new VaultAuditError(e.status === 404 ? 'NotFound' : e.status === 405 ? 'MethodNotAllowed' : e.status === 400 ? 'InvalidRequest' : 'InternalFailure', e.status);
}
