// STS for integration tests without @aws-sdk/client-sts: GetSessionToken as the Query-protocol
// form POST the AWS CLI sends, SigV4-signed by @smithy/signature-v4 (credential scope "sts").
// Also: IAM users with inline policies and access keys, made through IamService directly.
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import type { IamService } from '../../src/iam/service.ts';

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/** STS GetSessionToken against a rekey server; throws with the STS error code and message. */
export async function getSessionToken(url: string, creds: Creds, params: { DurationSeconds?: number; SerialNumber?: string; TokenCode?: string } = {}, region = 'us-east-1'): Promise<Required<Creds>> {
  const form = new URLSearchParams({ Action: 'GetSessionToken', Version: '2011-06-15' });
  for (const [k, v] of Object.entries(params)) if (v !== undefined) form.set(k, String(v));
  const body = form.toString();
  const u = new URL(url);
  const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/', body,
    headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
  const signed = await new SignatureV4({ credentials: creds, region, service: 'sts', sha256: Sha256 }).sign(req);
  const headers = { ...signed.headers };
  delete headers['host'];
  const res = await fetch(url + '/', { method: 'POST', headers, body });
  const text = await res.text();
  if (res.status !== 200) throw Object.assign(new Error(tag(text, 'Message') ?? text), { name: tag(text, 'Code') ?? `HTTP${res.status}` });
  return { accessKeyId: tag(text, 'AccessKeyId')!, secretAccessKey: tag(text, 'SecretAccessKey')!, sessionToken: tag(text, 'SessionToken')! };
}

/** An IAM user with these inline policies (objects) and one access key. */
export async function makeUser(iam: IamService, name: string, ...policies: unknown[]): Promise<{ arn: string; creds: Creds }> {
  const u = await iam.principals.createUser(name);
  for (const [i, p] of policies.entries()) await iam.principals.putPolicy('user', name, `p${i}`, JSON.stringify(p));
  const k = await iam.accessKeys.create({ name, arn: u.arn, accountId: iam.accountId });
  return { arn: u.arn, creds: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey } };
}

/** An identity policy allowing these actions on every resource. */
export const allow = (...actions: string[]) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });
