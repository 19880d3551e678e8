// The administrator's side of the key lifecycle (served by src/http/admin-kms-lifecycle.ts):
// list a key's dependents, override the dependency guard of ScheduleKeyDeletion and DisableKey,
// and set a key's usage budget. The callers are authorized by IamService.authorizeAdmin (identity
// policies) in the adapter, not by key policies: these are operator actions, not AWS API calls.
import { ValidationException } from '../../errors.ts';
import { keyNotFound, requireNotPendingDeletion, type KmsContext } from '../context.ts';
import type { KeyStore } from '../keystore.ts';
import type { WriteGate } from '../../storage/gate.ts';
import { KeyState, type KeyRecord, type UsageBudget } from '../model.ts';
import type { Dependent } from './hooks.ts';
import type { KmsLifecycle } from './index.ts';
import { DAY_MS } from './rotate.ts';
import { isExhausted, type UsageCounter } from './usage.ts';

export interface KeyRef {
  keyId: string;
  keyArn: string;
}

export interface ScheduledDeletion extends KeyRef {
  keyState: string;
  deletionDate: string;
  pendingWindowInDays: number;
  /** The dependents the deletion went ahead despite (force). */
  overriddenDependents: Dependent[];
}

export interface UsageView extends KeyRef {
  budget: UsageBudget | null;
  /** The current material version and what all nodes have counted for it so far. */
  currentKeyMaterialId: string;
  usage: UsageCounter;
}

/** The largest budget value: counters must stay exact integers. */
const MAX_BUDGET = Number.MAX_SAFE_INTEGER;

function checkBudget(b: UsageBudget): UsageBudget {
  const out: UsageBudget = {};
  for (const k of ['maxEncryptions', 'maxBytes'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    if (!(Number.isSafeInteger(v) && v >= 1 && v <= MAX_BUDGET)) throw new ValidationException(`${k} must be an integer from 1 to ${MAX_BUDGET}`);
    out[k] = v;
  }
  return out;
}

export class LifecycleAdmin {
  constructor(private readonly lc: KmsLifecycle, private readonly gate?: WriteGate) {}

  /** The admin operations as one mutating call sees them: key writes pass the call's audit gate first. */
  forCall(gate: WriteGate): LifecycleAdmin {
    return new LifecycleAdmin(this.lc, gate);
  }

  /** The key store this call writes through (the gated per-call view when there is a gate). */
  private storeOf(ctx: KmsContext): KeyStore {
    return this.gate ? ctx.store.forCall(this.gate) : ctx.store;
  }

  async dependents(ident: string): Promise<KeyRef & { dependents: Dependent[] }> {
    const { keyId, dependents } = await this.lc.dependents.list(ident);
    return { keyId, keyArn: await this.arnOf(keyId), dependents };
  }

  /**
   * ScheduleKeyDeletion with the same rules as the AWS operation (7-30 days, default 30; not on a key
   * already pending deletion; never on an AWS managed key) and, with `force`, without the
   * dependents guard: the dependents stay registered until the key is deleted, then go with it.
   */
  async scheduleDeletion(ident: string, pendingWindowInDays = 30, force = false): Promise<ScheduledDeletion> {
    const days = pendingWindowInDays;
    if (!(Number.isSafeInteger(days) && days >= 7 && days <= 30)) throw new ValidationException('PendingWindowInDays must be between 7 and 30');
    const ctx = this.lc.context();
    const keyId = await this.lc.resolveExisting(ident);
    const known = await this.lc.dependents.listByKeyId(keyId);
    const rec = await this.storeOf(ctx).updateKey(keyId, (r) => {
      this.lc.guard(r, 'ScheduleKeyDeletion', known, force);
      requireNotPendingDeletion(r);
      r.state = KeyState.PendingDeletion;
      r.deletionDate = ctx.clock().getTime() + days * DAY_MS;
      r.pendingWindowInDays = days;
    }, () => keyNotFound(ctx, keyId));
    return { keyId, keyArn: rec.arn, keyState: rec.state, deletionDate: new Date(rec.deletionDate!).toISOString(), pendingWindowInDays: days, overriddenDependents: known };
  }

  /** DisableKey, with `force` lifting the dependents guard. */
  async disableKey(ident: string, force = false): Promise<KeyRef & { keyState: string; overriddenDependents: Dependent[] }> {
    const ctx = this.lc.context();
    const keyId = await this.lc.resolveExisting(ident);
    const known = await this.lc.dependents.listByKeyId(keyId);
    const rec = await this.storeOf(ctx).updateKey(keyId, (r) => {
      this.lc.guard(r, 'DisableKey', known, force);
      requireNotPendingDeletion(r);
      if (r.state === KeyState.Disabled) return false;
      r.state = KeyState.Disabled;
      return true;
    }, () => keyNotFound(ctx, keyId));
    return { keyId, keyArn: rec.arn, keyState: rec.state, overriddenDependents: known };
  }

  /** Sets (or, with neither limit, removes) the key's usage budget. Takes effect on every node within the cache TTL. */
  async setUsageBudget(ident: string, budget: UsageBudget): Promise<UsageView> {
    const b = checkBudget(budget);
    const ctx = this.lc.context();
    const keyId = await this.lc.resolveExisting(ident);
    const rec = await this.storeOf(ctx).updateKey(keyId, (r) => {
      if (b.maxEncryptions === undefined && b.maxBytes === undefined) delete r.usageBudget;
      else r.usageBudget = b;
    }, () => keyNotFound(ctx, keyId));
    const view = await this.view(rec);
    // A budget set below what the current material has already done rotates it now.
    if (rec.usageBudget && isExhausted(view.usage, rec.usageBudget)) await this.lc.requestBudgetRotation(keyId, rec.currentMaterialId);
    return view;
  }

  async usage(ident: string): Promise<UsageView> {
    const keyId = await this.lc.resolveExisting(ident);
    const got = await this.lc.context().store.readKey(keyId);
    if (!got) throw keyNotFound(this.lc.context(), keyId);
    return this.view(got.value);
  }

  private async view(rec: KeyRecord): Promise<UsageView> {
    return {
      keyId: rec.keyId, keyArn: rec.arn, budget: rec.usageBudget ?? null, currentKeyMaterialId: rec.currentMaterialId,
      usage: await this.lc.usageOf(rec.keyId, rec.currentMaterialId),
    };
  }

  private async arnOf(keyId: string): Promise<string> {
    const got = await this.lc.context().store.readKey(keyId);
    if (!got) throw keyNotFound(this.lc.context(), keyId);
    return got.value.arn;
  }
}
