// Resource tags: AWS KMS's rules beyond the schema's lengths (TagKey 1-128, TagValue 0-256).
import { TagException } from '../errors.ts';
import type { Tag } from './model.ts';
import type { WireTag } from './wire.ts';

/** AWS KMS quota: "Tags per KMS key: 50". */
export const MAX_TAGS = 50;

/** AWS KMS: "Tag keys that begin with aws: are reserved for AWS use" (any letter case). */
function reserved(key: string): boolean {
  return key.toLowerCase().startsWith('aws:');
}

export function checkTagKeys(keys: readonly string[]): void {
  for (const k of keys) if (reserved(k)) throw new TagException('Tags beginning with aws: are reserved');
}

/** Validates tags from a request; returns them in internal form. */
export function checkNewTags(tags: readonly WireTag[]): Tag[] {
  checkTagKeys(tags.map((t) => t.TagKey));
  const seen = new Set<string>();
  for (const t of tags) {
    // AWS's message (LocalStack tests/aws/services/kms/test_kms.snapshot.json,
    // test_tag_key_with_duplicate_tag_keys_raises_error "duplicate-tag-keys")
    if (seen.has(t.TagKey)) throw new TagException('Duplicate tag keys');
    seen.add(t.TagKey);
  }
  return tags.map((t) => ({ key: t.TagKey, value: t.TagValue }));
}

/** Adds or replaces tags (TagResource semantics: a new value for an existing key replaces it). */
export function mergeTags(current: readonly Tag[], add: readonly Tag[]): Tag[] {
  const m = new Map(current.map((t) => [t.key, t.value]));
  for (const t of add) m.set(t.key, t.value);
  // AWS: TagException "Too many tags" (LocalStack tests/aws/services/kms/test_kms.snapshot.json,
  // test_create_key_with_too_many_tags_raises_error "invalid-tag-key": CreateKey with 51 tags);
  // TagResource going over the limit is not recorded and gets the same answer.
  if (m.size > MAX_TAGS) throw new TagException('Too many tags');
  return [...m].map(([key, value]) => ({ key, value })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function toWireTags(tags: readonly Tag[]): WireTag[] {
  return tags.map((t) => ({ TagKey: t.key, TagValue: t.value }));
}
