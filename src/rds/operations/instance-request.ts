// The request of the operations that name one instance and nothing else (Stop/Start/RebootDBInstance).
import type { QueryParams } from '../form.ts';
import { checkIdentifier, reqString } from '../validate.ts';

export interface InstanceRequest {
  DBInstanceIdentifier: string;
}

export function decodeInstanceRequest(p: QueryParams): InstanceRequest {
  return { DBInstanceIdentifier: checkIdentifier(reqString(p, 'DBInstanceIdentifier')) };
}
