// Resource-policy checks shared by PutResourcePolicy and ValidateResourcePolicy. A secret's resource
// policy is evaluated with the caller's identity policies (src/secrets/context.ts).
import { MalformedPolicyDocumentException, RekeyError } from '../errors.ts';
import { compilePolicy } from '../iam/policy/compile.ts';
import { parsePolicy, type PolicySpec } from '../iam/policy/parse.ts';

export function parse(text: string): PolicySpec {
  try {
    const spec = parsePolicy(text, 'resource');
    compilePolicy(text, 'resource');
    return spec;
  } catch (e) {
    if (e instanceof MalformedPolicyDocumentException) throw e;
    if (e instanceof RekeyError) throw new MalformedPolicyDocumentException(e.message);
    throw e;
  }
}

/**
 * AWS Secrets Manager (Zelkova-based) "broad access" check, simplified: an Allow statement whose
 * principal is "*" (or {"AWS": "*"}) and that has no condition grants access to anyone.
 */
export function isPublic(spec: PolicySpec): boolean {
  return spec.statements.some((st) => st.effect === 'Allow' && st.principal !== undefined && !st.principal.not
    && (st.principal.spec.any || st.principal.spec.aws.includes('*')) && st.conditions.length === 0);
}

