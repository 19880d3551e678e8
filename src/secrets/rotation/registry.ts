// Which rotation runs for a RotationLambdaARN: a built-in strategy ("rekey-<strategy name>", e.g.
// arn:aws:lambda:us-east-1:111122223333:function:rekey-postgresql-single-user) or a registered
// webhook (function:<webhook name>). Strategies come from the composition root (src/server.ts).
import { AccessDeniedException } from '../../errors.ts';
import type { RotationStrategy } from '../strategy.ts';
import type { WebhookRecord, WebhookStore } from './webhooks.ts';

export const BUILTIN_PREFIX = 'rekey-';

export type Rotator =
  | { kind: 'strategy'; strategy: RotationStrategy }
  | { kind: 'webhook'; webhook: WebhookRecord };

/** AWS's answer when the rotation function cannot be invoked (it does not exist, or may not be called). */
export const CANNOT_INVOKE = 'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.';

const LAMBDA_ARN = /^arn:[a-z-]+:lambda:([a-z0-9-]+):(\d{12}):function:([a-zA-Z0-9_-]{1,64})(:[a-zA-Z0-9$_-]+)?$/;

export class RotationRegistry {
  private readonly strategies = new Map<string, RotationStrategy>();

  constructor(strategies: readonly RotationStrategy[], readonly webhooks: WebhookStore, private readonly scope: { region: string; accountId: string }) {
    for (const s of strategies) this.add(s);
  }

  /** Adds a built-in strategy (the lead wires the database strategies here: docs/SECRETS.md). */
  add(s: RotationStrategy): void {
    this.strategies.set(BUILTIN_PREFIX + s.name, s);
  }

  get builtinNames(): string[] {
    return [...this.strategies.keys()].sort();
  }

  /** The function name of a Lambda ARN in this account and region, or null. */
  functionName(arn: string): string | null {
    const m = LAMBDA_ARN.exec(arn);
    if (!m || m[1] !== this.scope.region || m[2] !== this.scope.accountId) return null;
    return m[3]!;
  }

  async resolve(arn: string): Promise<Rotator> {
    const name = this.functionName(arn);
    if (name !== null) {
      const s = this.strategies.get(name);
      if (s) return { kind: 'strategy', strategy: s };
      const w = await this.webhooks.get(name);
      if (w) return { kind: 'webhook', webhook: w };
    }
    throw new AccessDeniedException(CANNOT_INVOKE);
  }
}
