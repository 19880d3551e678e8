// Shared set-up of the snapshot operation tests: a test double with one available instance.
import { InMemoryDbServiceForTests, testContext } from '../testing.ts';

export async function dbWithInstance(o: { encrypted?: boolean; usableKeys?: string[] } = {}): Promise<InMemoryDbServiceForTests> {
  const db = new InMemoryDbServiceForTests({ instant: true, accountId: '111122223333', ...(o.usableKeys ? { usableKeys: o.usableKeys } : {}) });
  await db.create({
    id: 'app', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', manageMasterUserPassword: true,
    storageEncrypted: o.encrypted ?? true, ...(o.encrypted === false ? {} : { kmsKeyId: 'key-a' }), deletionProtection: false, tags: [],
  }, testContext());
  return db;
}
