// A tiny in-test secret store with AWS's staging labels, and a driver that runs a strategy's four
// steps in the order the rotation job does (src/secrets/strategy.ts):
//   createPending -> store as AWSPENDING -> [mark 'switching' if invalidatesCurrent] -> setSecret
//   -> testSecret -> move AWSCURRENT to the pending version (old one becomes AWSPREVIOUS)
//   -> [end 'switching'] -> finishSecret
// readCurrent() models GetSecretValue(AWSCURRENT): it waits while the secret is switching, as the
// real job makes it wait, so a client that re-reads after an authentication failure gets a
// password that works.
import { randomBytes } from '../../src/crypto/index.ts';
import type { DbSecret, RotationStrategy, StepContext } from '../../src/secrets/strategy.ts';

/** Every password newPassword() generated in this process (the log test looks for them). */
export const generatedPasswords: string[] = [];

export function newPassword(): string {
  // Printable, like GetRandomPassword with ExcludePunctuation.
  const p = randomBytes(24).toString('base64url');
  generatedPasswords.push(p);
  return p;
}

export class TestSecretStore {
  private readonly versions = new Map<string, DbSecret>();
  private readonly labels = new Map<string, string>();
  private switching: Promise<void> | undefined;
  private endSwitching: (() => void) | undefined;
  private seq = 0;

  constructor(initial: DbSecret) {
    this.versions.set('v0', initial);
    this.labels.set('AWSCURRENT', 'v0');
  }

  get(label: 'AWSCURRENT' | 'AWSPREVIOUS' | 'AWSPENDING'): DbSecret | undefined {
    const id = this.labels.get(label);
    return id === undefined ? undefined : this.versions.get(id);
  }

  /** GetSecretValue(AWSCURRENT): waits while a single-user rotation is switching. */
  async readCurrent(): Promise<DbSecret> {
    while (this.switching) await this.switching;
    return this.get('AWSCURRENT')!;
  }

  putPending(s: DbSecret): void {
    const id = `v${++this.seq}`;
    this.versions.set(id, s);
    this.labels.set('AWSPENDING', id);
  }

  beginSwitching(): void {
    if (this.switching) return;
    this.switching = new Promise((resolve) => { this.endSwitching = resolve; });
  }

  finishSwitching(): void {
    const end = this.endSwitching;
    this.switching = undefined;
    this.endSwitching = undefined;
    end?.();
  }

  /** finishSecret's label move: AWSCURRENT -> pending version, old AWSCURRENT -> AWSPREVIOUS. */
  promotePending(): void {
    const pending = this.labels.get('AWSPENDING');
    const current = this.labels.get('AWSCURRENT');
    if (pending === undefined || current === undefined) throw new Error('no pending version');
    this.labels.set('AWSPREVIOUS', current);
    this.labels.set('AWSCURRENT', pending);
    this.labels.delete('AWSPENDING');
  }
}

export function stepContext(store: TestSecretStore, master?: DbSecret): StepContext {
  const current = store.get('AWSCURRENT')!;
  const pending = store.get('AWSPENDING');
  const previous = store.get('AWSPREVIOUS');
  return {
    secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:test-AbCdEf',
    current, pending: pending ?? current,
    ...(previous ? { previous } : {}),
    ...(master ? { master } : {}),
    signal: new AbortController().signal,
    progress: () => {},
  };
}

/** One rotation, exactly as the job runs the steps. */
export async function rotate(store: TestSecretStore, strategy: RotationStrategy, master?: DbSecret): Promise<void> {
  const current = store.get('AWSCURRENT')!;
  store.putPending(strategy.createPending(current, store.get('AWSPREVIOUS'), newPassword()));
  const ctx = stepContext(store, strategy.needsMaster ? master : undefined);
  if (strategy.invalidatesCurrent) store.beginSwitching();
  try {
    await strategy.setSecret(ctx);
    await strategy.testSecret(ctx);
    store.promotePending();
  } finally {
    store.finishSwitching();
  }
  await strategy.finishSecret?.({ ...ctx, current: store.get('AWSCURRENT')!, previous: store.get('AWSPREVIOUS')! });
}
