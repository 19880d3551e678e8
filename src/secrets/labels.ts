// Staging-label movement, exactly as AWS Secrets Manager moves labels. Pure functions on a secret
// record (the caller writes the record under its compare-and-swap).
//
// AWS Secrets Manager API reference:
//  - PutSecretValue: "If you don't include VersionStages, then Secrets Manager automatically moves
//    the staging label AWSCURRENT to this version." "If this operation moves the staging label
//    AWSCURRENT from another version to this version, then Secrets Manager also automatically moves
//    the staging label AWSPREVIOUS to the version that AWSCURRENT was removed from."
//  - A staging label can be attached to only one version at a time: adding it to one version
//    removes it from the other.
//  - UpdateSecretVersionStage: "If the staging label is already attached to a different version of
//    the secret, then you must also specify the RemoveFromVersionId parameter." Moving AWSCURRENT
//    moves AWSPREVIOUS to the version AWSCURRENT was removed from.
//  - Versions without labels are deprecated; Secrets Manager removes them beyond about 100 versions.
import { InvalidParameterException, LimitExceededException } from '../errors.ts';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, MAX_LABELS_PER_VERSION, MAX_VERSIONS, type SecretRecord, type VersionMeta } from './model.ts';

function detach(rec: SecretRecord, stage: string, exceptVersion?: string): string | undefined {
  let from: string | undefined;
  for (const v of Object.values(rec.versions)) {
    if (v.id === exceptVersion) continue;
    const i = v.stages.indexOf(stage);
    if (i >= 0) {
      v.stages.splice(i, 1);
      from = v.id;
    }
  }
  return from;
}

function attach(v: VersionMeta, stage: string): void {
  if (!v.stages.includes(stage)) {
    if (v.stages.length >= MAX_LABELS_PER_VERSION) throw new LimitExceededException(`You can attach at most ${MAX_LABELS_PER_VERSION} staging labels to a version.`);
    v.stages.push(stage);
  }
}

/** Attaches `stage` to `versionId`, removing it from any other version; AWSCURRENT drags AWSPREVIOUS along. */
export function moveStage(rec: SecretRecord, stage: string, versionId: string): void {
  const target = rec.versions[versionId];
  if (!target) throw new InvalidParameterException(`Secrets Manager can't find the specified secret version ${versionId}.`);
  const from = detach(rec, stage, versionId);
  attach(target, stage);
  if (stage === AWSCURRENT && from !== undefined && from !== versionId) {
    detach(rec, AWSPREVIOUS);
    const old = rec.versions[from];
    if (old) attach(old, AWSPREVIOUS);
  }
}

/**
 * Adds a new version carrying `stages` (default AWSCURRENT), moving labels as AWS does. A new
 * default (AWSCURRENT) version also takes AWSPENDING off the version that loses AWSCURRENT, as
 * recorded: LocalStack tests/aws/services/secretsmanager/test_secretsmanager.snapshot.json,
 * test_update_secret_version_stages_current_pending, "list_secret_version_ids_res_1" (v2:
 * AWSCURRENT + AWSPENDING) then PutSecretValue without VersionStages, "list_secret_version_ids_res_2"
 * (v2: AWSPREVIOUS only, v3: AWSCURRENT).
 */
export function addVersion(rec: SecretRecord, meta: Omit<VersionMeta, 'stages'>, stages: readonly string[] | undefined): VersionMeta {
  const v: VersionMeta = { ...meta, stages: [] };
  const current = stages === undefined ? Object.values(rec.versions).find((x) => x.stages.includes(AWSCURRENT)) : undefined;
  rec.versions[v.id] = v;
  for (const s of stages ?? [AWSCURRENT]) moveStage(rec, s, v.id);
  if (current && current.stages.includes(AWSPENDING)) current.stages = current.stages.filter((s) => s !== AWSPENDING);
  return v;
}

/**
 * UpdateSecretVersionStage. Returns nothing; throws InvalidParameterException with AWS's messages
 * when RemoveFromVersionId does not name the version holding the label.
 */
export function updateStage(rec: SecretRecord, stage: string, moveTo: string | undefined, removeFrom: string | undefined): void {
  const holder = Object.values(rec.versions).find((v) => v.stages.includes(stage))?.id;
  if (moveTo !== undefined && !rec.versions[moveTo]) throw new InvalidParameterException(`Secrets Manager can't find the specified secret version ${moveTo}.`);
  if (removeFrom !== undefined && !rec.versions[removeFrom]) throw new InvalidParameterException(`Secrets Manager can't find the specified secret version ${removeFrom}.`);
  if (moveTo === undefined) {
    if (removeFrom === undefined) throw new InvalidParameterException('You must specify MoveToVersionId or RemoveFromVersionId.');
    if (holder !== removeFrom) throw new InvalidParameterException(`The staging label ${stage} is not attached to version ${removeFrom}.`);
    // AWS: you can't remove AWSCURRENT from a version without moving it elsewhere.
    if (stage === AWSCURRENT) throw new InvalidParameterException('You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.');
    detach(rec, stage);
    return;
  }
  if (holder !== undefined && holder !== moveTo) {
    if (removeFrom === undefined) {
      throw new InvalidParameterException(`The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`);
    }
    if (removeFrom !== holder) {
      throw new InvalidParameterException(`When you move staging label ${stage}, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label ${stage}.`);
    }
  }
  moveStage(rec, stage, moveTo);
}

/** Deprecated versions (no labels) beyond MAX_VERSIONS, oldest first: to delete with the record write. */
export function pruneVersions(rec: SecretRecord): string[] {
  const all = Object.values(rec.versions).sort((a, b) => a.created - b.created);
  const removed: string[] = [];
  let excess = all.length - MAX_VERSIONS;
  for (const v of all) {
    if (excess <= 0) break;
    if (v.stages.length === 0) {
      delete rec.versions[v.id];
      removed.push(v.id);
      excess--;
    }
  }
  return removed;
}
