// Configuration: defaults < config file (JSON) < environment (REKEY_*) < command-line flags.
// Validated once at start-up with a compiled schema, then frozen.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import sjson from 'secure-json-parse';
import { ConfigurationError } from '../errors.ts';
import type { RootKeyConfig } from '../storage/rootkey.ts';
import { type QuotaConfig, QUOTA_CONFIG_SCHEMA, defaultQuotaConfig } from '../quotas/config.ts';
import type { DbConfigInput } from '../db/config.ts';
import { validateTargets, type ProxyTargetConfig, type ProxyTargetInput } from '../proxy/config.ts';
import { parseAuthAuditMode } from '../proxy/auth-audit.ts';
import { COMPLIANCE_CONFIG_SCHEMA, type ComplianceSettings } from '../compliance/settings.ts';

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
  http: {
    bodyLimitBytes: number;
    /** Connection hardening (docs/TLS.md): request-header bytes, header / request / idle timeouts, connection caps. */
    maxHeaderBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    maxConnectionsPerSource: number;
  };
  /** HTTPS for the API (docs/TLS.md). */
  tls: {
    /** off: plain HTTP (dev mode, or with insecureHttp); generated: rekey's own CA; files: certFile + keyFile. */
    mode: 'off' | 'generated' | 'files';
    certFile?: string;
    keyFile?: string;
    /** Files mode: CA bundle that client certificates must chain to (mTLS). */
    clientCaFile?: string;
    /** Generated mode: DNS names and IP addresses of the server certificate. */
    sans: string[];
    certLifetimeSeconds: number;
    caLifetimeSeconds: number;
    /** How long each phase of a rotation of rekey's CA lasts before the next begins by itself (docs/TLS.md). */
    caOverlapSeconds: number;
    checkIntervalSeconds: number;
    /** Mutual TLS: none, optional (a presented certificate must be valid) or required. */
    clientAuth: 'none' | 'optional' | 'required';
    /** Outside dev mode, plain HTTP only with this set (`--insecure-http`, REKEY_INSECURE_HTTP=1). */
    insecureHttp: boolean;
  };
  /** Request quotas (docs/TLS.md#quotas); the defaults are AWS's. */
  quotas: QuotaConfig;
  kms: { onDemandRotationLimit: number };
  /** Secrets Manager (docs/SECRETS.md): webhookHttpLoopback allows http:// rotation webhooks to 127.0.0.1 (development and tests only). */
  /** rotationCaFile: PEM CA certificates the rotation strategies trust for database servers, besides Node's roots. */
  secrets?: { webhookHttpLoopback?: boolean; switchWaitMs?: number; rotationCaFile?: string };
  /** Compliance rules (docs/COMPLIANCE.md); every field has a default (src/compliance/settings.ts). */
  compliance?: Partial<ComplianceSettings>;
  /** Database instances (docs/DATABASES.md); every field has a default (src/db/config.ts). */
  db?: DbConfigInput;
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
  proxy?: {
    targets: readonly ProxyTargetConfig[];
    /**
     * The proxy listeners' certificate (docs/PROXY.md, "TLS"): `generated` = issued from rekey's CA
     * (default when tls.mode is generated), `files` = certFile + keyFile, `off` = no TLS.
     */
    tls?: { mode: 'off' | 'generated' | 'files'; sans?: string[]; certFile?: string; keyFile?: string };
    /** Which client authentications are audit events of their own: all, failures (default) or sample:N (src/proxy/auth-audit.ts). */
    auditAuth?: string;
    /** How often each target's ClientAuthenticationSummary event is written (default 60). */
    auditSummarySeconds?: number;
  };
  /** Prometheus metrics (docs/METRICS.md): `listen` = host:port of their own listener; absent: not served. */
  metrics?: { listen?: string };
  /**
   * Alarms (docs/ALARMS.md): on unless enabled is false; metric rules are evaluated every
   * evaluationSeconds (default 60); webhookHttpLoopback also accepts http:// webhooks to the loopback
   * address (development and tests).
   */
  alarms?: { enabled?: boolean; evaluationSeconds?: number; webhookHttpLoopback?: boolean };
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port', 'dataDir', 'region', 'accountId', 'storage', 'rootKey', 'dev', 'http', 'tls', 'quotas', 'kms', 'logLevel', 'audit'],
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
      type: 'object', additionalProperties: false,
      required: ['bodyLimitBytes', 'maxHeaderBytes', 'headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections', 'maxConnectionsPerSource'],
      properties: {
        bodyLimitBytes: { type: 'integer', minimum: 1024, maximum: 16777216 },
        maxHeaderBytes: { type: 'integer', minimum: 4096, maximum: 1048576 },
        headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
        requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 3600000 },
        keepAliveTimeoutMs: { type: 'integer', minimum: 1000, maximum: 3600000 },
        maxConnections: { type: 'integer', minimum: 1, maximum: 1000000 },
        maxConnectionsPerSource: { type: 'integer', minimum: 1, maximum: 1000000 },
      },
    },
    tls: {
      type: 'object', additionalProperties: false,
      required: ['mode', 'sans', 'certLifetimeSeconds', 'caLifetimeSeconds', 'checkIntervalSeconds', 'clientAuth', 'insecureHttp'],
      properties: {
        mode: { enum: ['off', 'generated', 'files'] },
        certFile: { type: 'string', minLength: 1 }, keyFile: { type: 'string', minLength: 1 }, clientCaFile: { type: 'string', minLength: 1 },
        sans: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9.:*-]{1,253}$' }, maxItems: 100 },
        certLifetimeSeconds: { type: 'integer', minimum: 60, maximum: 398 * 86400 },
        caLifetimeSeconds: { type: 'integer', minimum: 3600, maximum: 30 * 365 * 86400 },
        caOverlapSeconds: { type: 'integer', minimum: 60, maximum: 365 * 86400 },
        checkIntervalSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
        clientAuth: { enum: ['none', 'optional', 'required'] },
        insecureHttp: { type: 'boolean' },
      },
    },
    quotas: QUOTA_CONFIG_SCHEMA,
    kms: {
      type: 'object', additionalProperties: false, required: ['onDemandRotationLimit'],
      properties: { onDemandRotationLimit: { type: 'integer', minimum: 0, maximum: 1000 } },
    },
    secrets: {
      type: 'object', additionalProperties: false,
      properties: { webhookHttpLoopback: { type: 'boolean' }, switchWaitMs: { type: 'integer', minimum: 0, maximum: 60000 }, rotationCaFile: { type: 'string', minLength: 1, maxLength: 4096 } },
    },
    compliance: COMPLIANCE_CONFIG_SCHEMA,
    db: {
      type: 'object', additionalProperties: false,
      properties: {
        dir: { type: 'string', minLength: 1 }, endpointHost: { type: 'string', minLength: 1 }, endpointAddress: { type: 'string', minLength: 1 },
        maxInstances: { type: 'integer', minimum: 0, maximum: 1000 }, sharedBuffersCapMiB: { type: 'integer', minimum: 16, maximum: 1048576 },
        serverUser: { type: 'string', pattern: '^[a-z_][a-z0-9_-]{0,31}$' },
      },
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
      properties: {
        targets: { type: 'array', maxItems: 64, items: { type: 'object' } },
        tls: {
          type: 'object', additionalProperties: false, required: ['mode'],
          properties: {
            mode: { enum: ['off', 'generated', 'files'] },
            sans: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9.:*-]{1,253}$' }, maxItems: 100 },
            certFile: { type: 'string' }, keyFile: { type: 'string' },
          },
        },
        auditAuth: { type: 'string' },
        auditSummarySeconds: { type: 'integer', minimum: 1, maximum: 86400 },
      },
    },
    metrics: {
      type: 'object', additionalProperties: false,
      // host:port (src/metrics/listener.ts parseListen reads it), e.g. 127.0.0.1:9464 or [::1]:9464
      properties: { listen: { type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):\\d{1,5}$' } },
    },
    alarms: {
      type: 'object', additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, evaluationSeconds: { type: 'integer', minimum: 1, maximum: 3600 }, webhookHttpLoopback: { type: 'boolean' } },
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
    http: {
      bodyLimitBytes: 524288, maxHeaderBytes: 16384, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000,
      // longer than the AWS SDKs' and the CLI's idle keep-alive, so the client closes first (no reset mid-request)
      keepAliveTimeoutMs: 65_000, maxConnections: 10_000, maxConnectionsPerSource: 256,
    },
    tls: {
      mode: 'off', sans: ['localhost', '127.0.0.1', '::1'], certLifetimeSeconds: 90 * 86400, caLifetimeSeconds: 3650 * 86400, caOverlapSeconds: 30 * 86400,
      checkIntervalSeconds: 60, clientAuth: 'none', insecureHttp: false,
    },
    quotas: defaultQuotaConfig(),
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
  /** `--insecure-http`: plain HTTP outside dev mode. */
  insecureHttp?: boolean;
  /** `--tls <mode>`. */
  tls?: string;
}

function int(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new ConfigurationError(`${name} must be a non-negative integer`);
  return Number(v);
}

/** "kms:cryptographic=100,kms:CreateKey=10" -> { "kms:cryptographic": 100, "kms:CreateKey": 10 }. */
function parseRates(v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([a-z0-9-]+:[A-Za-z*]+)=(\d+(?:\.\d+)?)$/.exec(part);
    if (!m) throw new ConfigurationError(`REKEY_QUOTA_RATES: expected rule=rate pairs such as kms:cryptographic=100, got ${JSON.stringify(part)}`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The config file over the defaults, section by section: a partial block (`"tls": {"mode":
 * "generated"}`) keeps the defaults of the fields it leaves out. Arrays and scalars replace.
 */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeConfig(b, v) : v;
  }
  return out;
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
    cfg = mergeConfig(cfg, parsed as Record<string, unknown>);
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
  if (e.REKEY_ROTATION_CA_FILE) cfg.secrets = { ...(cfg.secrets as object), rotationCaFile: e.REKEY_ROTATION_CA_FILE };
  if (e.REKEY_SECRETS_WEBHOOK_HTTP_LOOPBACK !== undefined) cfg.secrets = { ...(cfg.secrets as object), webhookHttpLoopback: e.REKEY_SECRETS_WEBHOOK_HTTP_LOOPBACK === '1' };
  if (e.REKEY_ALARMS !== undefined) cfg.alarms = { ...(cfg.alarms as object), enabled: e.REKEY_ALARMS !== 'off' };
  if (e.REKEY_ALARMS_EVALUATION_SECONDS !== undefined) cfg.alarms = { ...(cfg.alarms as object), evaluationSeconds: int('REKEY_ALARMS_EVALUATION_SECONDS', e.REKEY_ALARMS_EVALUATION_SECONDS) };
  if (e.REKEY_ALARMS_WEBHOOK_HTTP_LOOPBACK !== undefined) cfg.alarms = { ...(cfg.alarms as object), webhookHttpLoopback: e.REKEY_ALARMS_WEBHOOK_HTTP_LOOPBACK === '1' };
  const tls = { ...(cfg.tls as Config['tls']) };
  if (e.REKEY_TLS) tls.mode = e.REKEY_TLS as Config['tls']['mode'];
  if (e.REKEY_TLS_CERT_FILE) tls.certFile = e.REKEY_TLS_CERT_FILE;
  if (e.REKEY_TLS_KEY_FILE) tls.keyFile = e.REKEY_TLS_KEY_FILE;
  if (e.REKEY_TLS_CLIENT_CA_FILE) tls.clientCaFile = e.REKEY_TLS_CLIENT_CA_FILE;
  if (e.REKEY_TLS_SANS) tls.sans = e.REKEY_TLS_SANS.split(',').map((x) => x.trim()).filter(Boolean);
  if (e.REKEY_TLS_CLIENT_AUTH) tls.clientAuth = e.REKEY_TLS_CLIENT_AUTH as Config['tls']['clientAuth'];
  if (e.REKEY_TLS_CERT_LIFETIME_SECONDS) tls.certLifetimeSeconds = int('REKEY_TLS_CERT_LIFETIME_SECONDS', e.REKEY_TLS_CERT_LIFETIME_SECONDS);
  if (e.REKEY_TLS_CA_OVERLAP_SECONDS) tls.caOverlapSeconds = int('REKEY_TLS_CA_OVERLAP_SECONDS', e.REKEY_TLS_CA_OVERLAP_SECONDS);
  if (e.REKEY_TLS_CHECK_INTERVAL_SECONDS) tls.checkIntervalSeconds = int('REKEY_TLS_CHECK_INTERVAL_SECONDS', e.REKEY_TLS_CHECK_INTERVAL_SECONDS);
  if (e.REKEY_INSECURE_HTTP !== undefined) tls.insecureHttp = e.REKEY_INSECURE_HTTP === '1' || e.REKEY_INSECURE_HTTP === 'true';
  if (flags.tls !== undefined) tls.mode = flags.tls as Config['tls']['mode'];
  if (flags.insecureHttp) tls.insecureHttp = true;
  cfg.tls = tls;
  const http = { ...(cfg.http as Config['http']) };
  if (e.REKEY_HTTP_MAX_CONNECTIONS) http.maxConnections = int('REKEY_HTTP_MAX_CONNECTIONS', e.REKEY_HTTP_MAX_CONNECTIONS);
  if (e.REKEY_HTTP_MAX_CONNECTIONS_PER_SOURCE) http.maxConnectionsPerSource = int('REKEY_HTTP_MAX_CONNECTIONS_PER_SOURCE', e.REKEY_HTTP_MAX_CONNECTIONS_PER_SOURCE);
  if (e.REKEY_HTTP_HEADERS_TIMEOUT_MS) http.headersTimeoutMs = int('REKEY_HTTP_HEADERS_TIMEOUT_MS', e.REKEY_HTTP_HEADERS_TIMEOUT_MS);
  cfg.http = http;
  const quotas = { ...(cfg.quotas as Config['quotas']) };
  if (e.REKEY_QUOTAS !== undefined) quotas.enabled = e.REKEY_QUOTAS !== 'off' && e.REKEY_QUOTAS !== 'false';
  if (e.REKEY_QUOTA_RATES) quotas.rates = { ...quotas.rates, ...parseRates(e.REKEY_QUOTA_RATES) };
  if (e.REKEY_QUOTA_PRINCIPAL_SHARE) quotas.principalShare = Number(e.REKEY_QUOTA_PRINCIPAL_SHARE);
  cfg.quotas = quotas;
  if (e.REKEY_METRICS_LISTEN) cfg.metrics = { ...(cfg.metrics as object), listen: e.REKEY_METRICS_LISTEN };
  // the proxy's audit settings apply to targets from the configuration file
  if (e.REKEY_PROXY_AUDIT_AUTH && cfg.proxy) cfg.proxy = { ...(cfg.proxy as object), auditAuth: e.REKEY_PROXY_AUDIT_AUTH };
  if (e.REKEY_PROXY_AUDIT_SUMMARY_SECONDS && cfg.proxy) cfg.proxy = { ...(cfg.proxy as object), auditSummarySeconds: int('REKEY_PROXY_AUDIT_SUMMARY_SECONDS', e.REKEY_PROXY_AUDIT_SUMMARY_SECONDS) };
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
  if (c.tls.mode === 'files' && (!c.tls.certFile || !c.tls.keyFile)) throw new ConfigurationError('tls.mode "files" needs tls.certFile and tls.keyFile (REKEY_TLS_CERT_FILE, REKEY_TLS_KEY_FILE)');
  c.dataDir = resolve(c.dataDir);
  // '' = the default file inside the data directory
  if (c.audit.file === '') c.audit.file = resolve(c.dataDir, 'audit', 'audit.jsonl');
  if (!c.audit.store && c.audit.file === null) throw new ConfigurationError('the audit trail needs a durable sink: keep audit.store or set audit.file');
  if (c.proxy) c.proxy = { ...c.proxy, targets: validateTargets(c.proxy.targets as unknown as ProxyTargetInput[]) };
  if (c.proxy?.auditAuth !== undefined) parseAuthAuditMode(c.proxy.auditAuth);
  if (c.proxy?.tls?.mode === 'files' && (!c.proxy.tls.certFile || !c.proxy.tls.keyFile)) throw new ConfigurationError('proxy.tls.mode "files" needs proxy.tls.certFile and proxy.tls.keyFile');
  if (c.proxy?.tls?.mode === 'generated' && c.tls.mode !== 'generated') throw new ConfigurationError('proxy.tls.mode "generated" issues from rekey\'s CA: it needs tls.mode "generated"');
  return deepFreeze(c);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
