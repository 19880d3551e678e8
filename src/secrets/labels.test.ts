import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addVersion, moveStage, pruneVersions, updateStage } from './labels.ts';
import { MAX_VERSIONS, type SecretRecord } from './model.ts';

function rec(): SecretRecord {
  return { v: 1, uid: 'u', name: 'n', arn: 'arn', keyArn: 'k', tags: [], created: 0, lastChanged: 0, versions: {} };
}
const add = (r: SecretRecord, id: string, stages?: string[], t = 0) => addVersion(r, { id, created: t, kind: 'string', keyArn: 'k' }, stages);
const labels = (r: SecretRecord) => Object.fromEntries(Object.values(r.versions).map((v) => [v.id, [...v.stages].sort()]));

test('a new version takes AWSCURRENT; the old current becomes AWSPREVIOUS; the older AWSPREVIOUS loses it', () => {
  const r = rec();
  add(r, 'a');
  add(r, 'b');
  assert.deepEqual(labels(r), { a: ['AWSPREVIOUS'], b: ['AWSCURRENT'] });
  add(r, 'c');
  assert.deepEqual(labels(r), { a: [], b: ['AWSPREVIOUS'], c: ['AWSCURRENT'] });
});

test('explicit VersionStages do not move AWSCURRENT; a label lives on one version only', () => {
  const r = rec();
  add(r, 'a');
  add(r, 'b', ['AWSPENDING', 'x']);
  add(r, 'c', ['x']);
  assert.deepEqual(labels(r), { a: ['AWSCURRENT'], b: ['AWSPENDING'], c: ['x'] });
});

test('UpdateSecretVersionStage: RemoveFromVersionId must name the holder; AWSCURRENT moves AWSPREVIOUS; AWSCURRENT cannot be removed', () => {
  const r = rec();
  add(r, 'a');
  add(r, 'b', ['AWSPENDING']);
  assert.throws(() => updateStage(r, 'AWSCURRENT', 'b', undefined), { name: 'InvalidParameterException', message: /RemoveFromVersionId can't be empty.*attached to version a/ });
  assert.throws(() => updateStage(r, 'AWSCURRENT', 'b', 'b'), { name: 'InvalidParameterException', message: /must be set to the version that currently has/ });
  assert.throws(() => updateStage(r, 'AWSCURRENT', 'zz', 'a'), { name: 'InvalidParameterException', message: /can't find the specified secret version zz/ });
  updateStage(r, 'AWSCURRENT', 'b', 'a');
  assert.deepEqual(labels(r), { a: ['AWSPREVIOUS'], b: ['AWSCURRENT', 'AWSPENDING'] });
  assert.throws(() => updateStage(r, 'AWSCURRENT', undefined, 'b'), { name: 'InvalidParameterException' });
  updateStage(r, 'AWSPENDING', undefined, 'b');
  assert.deepEqual(labels(r), { a: ['AWSPREVIOUS'], b: ['AWSCURRENT'] });
  // a label nobody holds moves without RemoveFromVersionId
  updateStage(r, 'new', 'a', undefined);
  assert.deepEqual(labels(r), { a: ['AWSPREVIOUS', 'new'], b: ['AWSCURRENT'] });
  assert.throws(() => updateStage(r, 'x', undefined, undefined), { name: 'InvalidParameterException' });
});

test('moving AWSCURRENT to the version that already has it changes nothing', () => {
  const r = rec();
  add(r, 'a');
  add(r, 'b');
  moveStage(r, 'AWSCURRENT', 'b');
  assert.deepEqual(labels(r), { a: ['AWSPREVIOUS'], b: ['AWSCURRENT'] });
});

test('at most 20 labels per version', () => {
  const r = rec();
  add(r, 'a', Array.from({ length: 20 }, (_, i) => `l${i}`));
  assert.throws(() => moveStage(r, 'one-more', 'a'), { name: 'LimitExceededException' });
});

test('deprecated versions beyond the limit are pruned oldest first; labelled ones never', () => {
  const r = rec();
  for (let i = 0; i < MAX_VERSIONS + 5; i++) add(r, `v${i}`, i === 0 ? ['keep'] : undefined, i);
  const removed = pruneVersions(r);
  assert.deepEqual(removed, ['v1', 'v2', 'v3', 'v4', 'v5']);
  assert.equal(Object.keys(r.versions).length, MAX_VERSIONS);
  assert.ok(r.versions['v0']);
});
