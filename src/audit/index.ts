// The audit trail's public surface, for the server, the CLI and the admin API.
export { AuditLog, type AuditLogOptions, type AuditStats } from './log.ts';
export { AuditedCall, UNAUDITED, type CallContext, type Appender } from './call.ts';
export {
  type AuditEvent, type AuditCaller, type ApiCall, type AdminCall, type ServiceCall, type UserIdentity, type AuditResource,
  kmsApiEvent, secretsApiEvent, stsApiEvent, awsApiEvent, apiCallEvent, adminEvent, serviceEvent, isMutating, eventTimeOf,
} from './event.ts';
export { type AuditRecord, type ChainHead, GENESIS_HASH, recordHash } from './chain.ts';
export { canonicalJson } from './canonical.ts';
export { type AuditDigest, type AuditPublicKey, readPublicKey, parsePublicKeyPem } from './digest.ts';
export { type LookupQuery, type LookupResult } from './lookup.ts';
export { type PruneResult } from './retention.ts';
export { type VerifyResult, type Problem, type ProblemKind, type NodeReport } from './verify.ts';
export { verifyStore } from './verify-store.ts';
export { verifyFiles } from './verify-file.ts';
export { type AuditCheckpoint, takeCheckpoint, verifyAgainstCheckpoint, isCheckpoint } from './checkpoint.ts';
export { type AuditSink, type SinkBatch } from './sinks/types.ts';
export { StoreSink } from './sinks/store.ts';
export { FileSink, type FileSinkOptions } from './sinks/file.ts';
export { StdoutSink } from './sinks/stdout.ts';
export { SyslogSink, type SyslogSinkOptions } from './sinks/syslog.ts';
