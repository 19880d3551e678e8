// Configuration: defaults < config file (JSON) < environment (REKEY_*) < command-line flags.
// Validated once at start-up with a compiled schema, then frozen.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import sjson from 'secure-json-parse';
import { ConfigurationError } from '../errors.ts';
import type { RootKeyConfig } from '../storage/rootkey.ts';
import { validateTargets, type ProxyTargetConfig, type ProxyTargetInput } from '../proxy/config.ts';

export const DEFAULT_PORT = 8370;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  region: string;
  accountId: string;
  storage: { backend: 'sqlite' | 'postgres'; postgresUrl?: string };
  rootKey: RootKeyConfig;
  /** Dev mode: generated root key and bootstrap credentials, loud warnings. */
  dev: boolean;
  devAccessKeyId?: string;
  devSecretAccessKey?: string;
  http: { bodyLimitBytes: number };
  kms: { onDemandRotationLimit: number };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** This process's name in the audit chain (default: generated once into <dataDir>/node-id). */
  nodeId?: string;
  audit: {
    /** JSON-lines file sink (null: none). Default <dataDir>/audit/audit.jsonl. */
    file: string | null;
    fileMaxBytes: number;
    fileMaxFiles: number;
    /** Events also kept in the store (queryable through /v1/audit/events). */
    store: boolean;
    stdout: boolean;
    /** RFC 5424 syslog over TCP, "host:port". */
    syslog: string | null;
    digestPeriodMs: number;
  };
  /** PostgreSQL proxy targets (docs/PROXY.md), each checked by src/proxy/config.ts validateTargets. */
  proxy?: { targets: readonly ProxyTargetConfig[] };
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port', 'dataDir', 'region', 'accountId', 'storage', 'rootKey', 'dev', 'http', 'kms', 'logLevel', 'audit'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    dataDir: { type: 'string', minLength: 1 },
    region: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' },
    accountId: { type: 'string', pattern: '^\\d{12}$' },
    storage: {
      type: 'object', additionalProperties: false, required: ['backend'],
      properties: { backend: { enum: ['sqlite', 'postgres'] }, postgresUrl: { type: 'string' } },
    },
    rootKey: {
      type: 'object', required: ['source'],
      properties: {
        source: { enum: ['dev', 'file', 'env', 'passphrase'] },
        path: { type: 'string' }, variable: { type: 'string' },
      },
    },
    dev: { type: 'boolean' },
    devAccessKeyId: { type: 'string', pattern: '^[A-Z0-9]{16,128}$' },
    devSecretAccessKey: { type: 'string', minLength: 16, maxLength: 128 },
    http: {
      type: 'object', additionalProperties: false, required: ['bodyLimitBytes'],
      properties: { bodyLimitBytes: { type: 'integer', minimum: 1024, maximum: 16777216 } },
    },
    kms: {
      type: 'object', additionalProperties: false, required: ['onDemandRotationLimit'],
      properties: { onDemandRotationLimit: { type: 'integer', minimum: 0, maximum: 1000 } },
    },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] },
    nodeId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
    audit: {
      type: 'object', additionalProperties: false,
      required: ['file', 'fileMaxBytes', 'fileMaxFiles', 'store', 'stdout', 'syslog', 'digestPeriodMs'],
      properties: {
        file: { type: ['string', 'null'] },
        fileMaxBytes: { type: 'integer', minimum: 4096 },
        fileMaxFiles: { type: 'integer', minimum: 1, maximum: 100000 },
        store: { type: 'boolean' },
        stdout: { type: 'boolean' },
        syslog: { type: ['string', 'null'], pattern: '^[^:]+:\\d+$' },
        digestPeriodMs: { type: 'integer', minimum: 0 },
      },
    },
    proxy: {
      type: 'object', additionalProperties: false, required: ['targets'],
      properties: { targets: { type: 'array', maxItems: 64, items: { type: 'object' } } },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(schema);

export function defaults(): Config {
  return {
    host: '127.0.0.1',
    port: DEFAULT_PORT,
    dataDir: './data',
    region: 'us-east-1',
    accountId: '111122223333',
    storage: { backend: 'sqlite' },
    rootKey: { source: 'dev' },
    dev: true,
    http: { bodyLimitBytes: 65536 },
    kms: { onDemandRotationLimit: 10 },
    logLevel: 'info',
    audit: { file: '', fileMaxBytes: 64 * 1024 * 1024, fileMaxFiles: 1000, store: true, stdout: false, syslog: null, digestPeriodMs: 3_600_000 },
  };
}

export interface Overrides {
  configFile?: string;
  host?: string;
  port?: string | number;
  dataDir?: string;
}

function int(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new ConfigurationError(`${name} must be a non-negative integer`);
  return Number(v);
}

/** Builds, validates and freezes the configuration. */
export function loadConfig(flags: Overrides = {}, env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  let cfg: Record<string, unknown> = { ...defaults() };
  const file = flags.configFile ?? env.REKEY_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = sjson.parse(readFileSync(file, 'utf8'), undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (e) {
      throw new ConfigurationError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigurationError(`config file ${file} must hold a JSON object`);
    cfg = { ...cfg, ...(parsed as Record<string, unknown>) };
  }
  const e = env;
  if (e.REKEY_HOST) cfg.host = e.REKEY_HOST;
  if (e.REKEY_PORT) cfg.port = int('REKEY_PORT', e.REKEY_PORT);
  if (e.REKEY_DATA_DIR) cfg.dataDir = e.REKEY_DATA_DIR;
  if (e.REKEY_REGION) cfg.region = e.REKEY_REGION;
  if (e.REKEY_ACCOUNT_ID) cfg.accountId = e.REKEY_ACCOUNT_ID;
  if (e.REKEY_LOG_LEVEL) cfg.logLevel = e.REKEY_LOG_LEVEL;
  if (e.REKEY_STORAGE) cfg.storage = { ...(cfg.storage as object), backend: e.REKEY_STORAGE };
  if (e.REKEY_POSTGRES_URL) cfg.storage = { ...(cfg.storage as object), postgresUrl: e.REKEY_POSTGRES_URL };
  if (e.REKEY_ROOT_KEY_FILE) cfg.rootKey = { source: 'file', path: e.REKEY_ROOT_KEY_FILE };
  else if (e.REKEY_ROOT_KEY) cfg.rootKey = { source: 'env', variable: 'REKEY_ROOT_KEY' };
  else if (e.REKEY_ROOT_PASSPHRASE) cfg.rootKey = { source: 'passphrase', variable: 'REKEY_ROOT_PASSPHRASE' };
  if (e.REKEY_NODE_ID) cfg.nodeId = e.REKEY_NODE_ID;
  const audit = { ...(cfg.audit as Config['audit']) };
  if (e.REKEY_AUDIT_FILE !== undefined) audit.file = e.REKEY_AUDIT_FILE === 'none' ? null : e.REKEY_AUDIT_FILE;
  if (e.REKEY_AUDIT_STORE !== undefined) audit.store = e.REKEY_AUDIT_STORE !== 'false';
  if (e.REKEY_AUDIT_STDOUT !== undefined) audit.stdout = e.REKEY_AUDIT_STDOUT === 'true';
  if (e.REKEY_AUDIT_SYSLOG) audit.syslog = e.REKEY_AUDIT_SYSLOG;
  cfg.audit = audit;
  if (e.REKEY_DEV_ACCESS_KEY_ID) cfg.devAccessKeyId = e.REKEY_DEV_ACCESS_KEY_ID;
  if (e.REKEY_DEV_SECRET_ACCESS_KEY) cfg.devSecretAccessKey = e.REKEY_DEV_SECRET_ACCESS_KEY;
  if (e.REKEY_ON_DEMAND_ROTATION_LIMIT) cfg.kms = { ...(cfg.kms as object), onDemandRotationLimit: int('REKEY_ON_DEMAND_ROTATION_LIMIT', e.REKEY_ON_DEMAND_ROTATION_LIMIT) };
  if (flags.host !== undefined) cfg.host = flags.host;
  if (flags.port !== undefined) cfg.port = typeof flags.port === 'number' ? flags.port : int('--port', flags.port);
  if (flags.dataDir !== undefined) cfg.dataDir = flags.dataDir;
  cfg.dev = (cfg.rootKey as { source: string }).source === 'dev';

  if (!validate(cfg)) {
    const msg = (validate.errors ?? []).map((er) => `${er.instancePath || '/'} ${er.message ?? 'is invalid'}`).join('; ');
    throw new ConfigurationError(`invalid configuration: ${msg}`);
  }
  const c = cfg as unknown as Config;
  if (c.storage.backend === 'postgres' && !c.storage.postgresUrl) throw new ConfigurationError('storage.postgresUrl (or REKEY_POSTGRES_URL) is required for the postgres backend');
  if (c.rootKey.source === 'file' && !c.rootKey.path) throw new ConfigurationError('rootKey.path is required when rootKey.source is file');
  if ((c.rootKey.source === 'env' || c.rootKey.source === 'passphrase') && !c.rootKey.variable) throw new ConfigurationError(`rootKey.variable is required when rootKey.source is ${c.rootKey.source}`);
  if ((c.devAccessKeyId === undefined) !== (c.devSecretAccessKey === undefined)) throw new ConfigurationError('REKEY_DEV_ACCESS_KEY_ID and REKEY_DEV_SECRET_ACCESS_KEY must be set together');
  c.dataDir = resolve(c.dataDir);
  // '' = the default file inside the data directory
  if (c.audit.file === '') c.audit.file = resolve(c.dataDir, 'audit', 'audit.jsonl');
  if (!c.audit.store && c.audit.file === null) throw new ConfigurationError('the audit trail needs a durable sink: keep audit.store or set audit.file');
  if (c.proxy) c.proxy = { targets: validateTargets(c.proxy.targets as unknown as ProxyTargetInput[]) };
  return deepFreeze(c);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
