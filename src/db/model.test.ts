import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedBuffersMiB, toApi, volumeContext, type InstanceRecord } from './model.ts';
import { isRdsDefaultAlias, newResourceId } from './create.ts';
import { isKeyInaccessible } from './jobs.ts';
import { DisabledException, KMSInvalidStateException, ValidationException } from '../errors.ts';

test('shared_buffers: 25% of the class memory (RDS default parameter group), capped, at least 16 MiB', () => {
  assert.equal(sharedBuffersMiB('db.t3.micro', 1024), 256);
  assert.equal(sharedBuffersMiB('db.m5.large', 1024), 1024);
  assert.equal(sharedBuffersMiB('db.r6g.4xlarge', 4096), 4096);
  assert.equal(sharedBuffersMiB('db.odd.unknown', 1024), 256);
});

test('DbiResourceId format and the RDS encryption context', () => {
  const ids = new Set(Array.from({ length: 50 }, () => newResourceId()));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, /^db-[A-Z2-7]{26}$/);
  assert.deepEqual(volumeContext({ resourceId: 'db-ABC' }), { 'aws:rds:db-id': 'db-ABC' });
  assert.equal(isRdsDefaultAlias('alias/aws/rds'), true);
  assert.equal(isRdsDefaultAlias('arn:aws:kms:us-east-1:111122223333:alias/aws/rds'), true);
  assert.equal(isRdsDefaultAlias('alias/aws/rds2'), false);
});

test('key-state errors mean inaccessible-encryption-credentials; others are retried', () => {
  assert.equal(isKeyInaccessible(new DisabledException('x is disabled.')), true);
  assert.equal(isKeyInaccessible(new KMSInvalidStateException('pending deletion')), true);
  assert.equal(isKeyInaccessible(new ValidationException('no')), false);
  assert.equal(isKeyInaccessible(new Error('ENOSPC')), false);
});

test('toApi: no endpoint while creating; the key ARN; no secrets in the view', () => {
  const rec: InstanceRecord = {
    v: 1, id: 'a', resourceId: 'db-X', arn: 'arn:aws:rds:us-east-1:1:db:a', engine: 'postgres', engineVersion: '15.1', binDir: '/b',
    instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'm', endpointAddress: '127.0.0.1', endpointPort: 5000,
    status: 'creating', desired: 'available', storageEncrypted: true, kmsKeyArn: 'arn:aws:kms:us-east-1:1:key/k', kmsKeyId: 'k',
    wrappedVolumeKey: 'AAAA', adminPassword: 'secret-admin-pw', deletionProtection: false, createdAt: 0, tags: [],
  };
  const view = toApi(rec);
  assert.equal(view.endpoint, undefined);
  assert.equal(view.kmsKeyId, 'arn:aws:kms:us-east-1:1:key/k');
  assert.equal(JSON.stringify(view).includes('secret-admin-pw'), false);
  assert.equal(JSON.stringify(view).includes('AAAA'), false);
  assert.deepEqual(toApi({ ...rec, status: 'available' }).endpoint, { address: '127.0.0.1', port: 5000 });
});
