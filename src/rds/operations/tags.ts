// AddTagsToResource / ListTagsForResource / RemoveTagsFromResource on an instance ARN
// (ResourceName). RDS tags resources by ARN only; another resource type (snapshot, cluster) is
// InvalidParameterValue until rekey has it.
import { DBInstanceNotFoundFault, InvalidParameterValue, MissingParameter } from '../../errors.ts';
import type { RdsEnv } from '../operation.ts';
import { defineOperation } from '../operation.ts';
import { stringListOf } from '../form.ts';
import { clip, filtersOf, reqString, tagsOf, MAX_TAGS } from '../validate.ts';
import { fromWireTags, idFromInstanceArn, instanceArn, toWireTags, type WireTag } from '../wire.ts';

function resourceName(p: Parameters<typeof reqString>[0]): string {
  const arn = reqString(p, 'ResourceName');
  if (!idFromInstanceArn(arn)) throw new InvalidParameterValue(`The specified resource name does not match an RDS resource in this region: ${clip(arn)}`);
  return arn;
}

/** The ARN as rekey stores it: the identifier part lower-cased, as RDS does. */
function canonical(arn: string): string {
  const id = idFromInstanceArn(arn)!;
  return arn.slice(0, arn.lastIndexOf(':') + 1) + id;
}

/** An ARN of another account, region or partition names no instance here (RDS: DBInstanceNotFound). */
function inScope(arn: string, env: RdsEnv): string {
  if (arn !== instanceArn(env.partition, env.region, env.accountId, idFromInstanceArn(arn)!)) throw new DBInstanceNotFoundFault(`DBInstance ${arn} not found.`);
  return arn;
}

export interface AddTagsToResourceRequest {
  ResourceName: string;
  Tags: WireTag[];
}

export const addTagsToResource = defineOperation<AddTagsToResourceRequest>({
  name: 'AddTagsToResource',
  mutating: true,
  decode(p) {
    const name = resourceName(p);
    const tags = tagsOf(p);
    if (!tags) throw new MissingParameter('The request must contain the parameter Tags');
    return { ResourceName: canonical(name), Tags: tags };
  },
  resource: (r) => r.ResourceName,
  async run(r, env, ctx) {
    await env.db.addTags(inScope(r.ResourceName, env), fromWireTags(r.Tags), ctx);
    return {};
  },
});

export interface ListTagsForResourceRequest {
  ResourceName: string;
}

export const listTagsForResource = defineOperation<ListTagsForResourceRequest>({
  name: 'ListTagsForResource',
  mutating: false,
  decode(p) {
    if (filtersOf(p)) throw new InvalidParameterValue('rekey does not support Filters on ListTagsForResource.');
    return { ResourceName: canonical(resourceName(p)) };
  },
  resource: (r) => r.ResourceName,
  run: async (r, env) => ({ TagList: toWireTags(await env.db.listTags(inScope(r.ResourceName, env))) }),
});

export interface RemoveTagsFromResourceRequest {
  ResourceName: string;
  TagKeys: string[];
}

export const removeTagsFromResource = defineOperation<RemoveTagsFromResourceRequest>({
  name: 'RemoveTagsFromResource',
  mutating: true,
  decode(p) {
    const name = resourceName(p);
    const keys = stringListOf(p, 'TagKeys', 'member');
    if (!keys) throw new MissingParameter('The request must contain the parameter TagKeys');
    if (keys.length > MAX_TAGS) throw new InvalidParameterValue(`Too many tag keys: at most ${MAX_TAGS} are allowed.`);
    return { ResourceName: canonical(name), TagKeys: keys };
  },
  resource: (r) => r.ResourceName,
  async run(r, env, ctx) {
    await env.db.removeTags(inScope(r.ResourceName, env), r.TagKeys, ctx);
    return {};
  },
});
