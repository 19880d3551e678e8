// What every admin adapter (IAM, jobs, KMS, KMS lifecycle, audit) reports per call to its onCall
// hook, which the server turns into one audit event (src/http/audit-hooks.ts).
import type { RekeyError } from '../errors.ts';
import type { Identity } from '../iam/identity.ts';

export interface AdminCallRecord<Action extends string = string> {
  action: Action;
  resource: string;
  requestId: string;
  identity?: Identity;
  /** Input members without secrets. */
  parameters: Record<string, unknown>;
  error?: RekeyError;
  sourceIp: string;
  userAgent: string;
}
