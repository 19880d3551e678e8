// Deliberately broken backends. conformance-self.test.ts runs the conformance suite against each and
// checks that it fails where it should: proof that the suite's tests can fail.
import { type Backend, type ListOptions, type Op, type PutOptions, CasConflict, checkExpectVersion, checkKey, checkListOptions, checkOps } from '../backend.ts';
import { MemoryBackend } from '../memory.ts';

/** Wraps a healthy MemoryBackend and overrides one behaviour. */
class Mutant extends MemoryBackend {}

/** list() built on LIKE semantics: '%' and '_' in the prefix act as wildcards. */
class LikeList extends Mutant {
  override async list(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    checkListOptions(prefix, opts);
    const all = await super.list('', opts.after === undefined ? {} : { after: opts.after });
    const re = new RegExp('^' + prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.'));
    const hits = all.filter((k) => re.test(k));
    return opts.limit === undefined ? hits : hits.slice(0, opts.limit);
  }
}

/** list() in locale order instead of byte order (what a default database collation does). */
class LocaleOrder extends Mutant {
  override async list(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    checkListOptions(prefix, opts);
    const all = (await super.list(prefix)).sort((a, b) => a.localeCompare(b, 'en'));
    const after = opts.after;
    const rest = after === undefined ? all : all.filter((k) => k.localeCompare(after, 'en') > 0);
    return opts.limit === undefined ? rest : rest.slice(0, opts.limit);
  }
}

/** Applies ops one by one, so a failing CAS leaves earlier ops applied. */
class NonAtomicTransaction extends Mutant {
  override async transaction(ops: Op[]): Promise<void> {
    checkOps(ops);
    for (const op of ops) {
      const opts = op.expectVersion === undefined ? {} : { expectVersion: op.expectVersion };
      if (op.type === 'put') await this.put(op.key, op.value, opts);
      else await this.delete(op.key, opts);
    }
  }
}

/** Checks the version, yields, then writes: the check-then-act race of a naive SQL backend. */
class RacyCas extends Mutant {
  override async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    checkExpectVersion(opts.expectVersion);
    if (opts.expectVersion !== undefined) {
      const current = (await this.get(key))?.version ?? 0;
      if (current !== opts.expectVersion) throw new CasConflict(key);
      await new Promise((r) => setImmediate(r));
    }
    return super.put(key, value);
  }
}

/** Keeps a reference to the caller's buffer instead of a copy. */
class Aliasing extends Mutant {
  private readonly refs = new Map<string, Uint8Array>();
  override async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    const v = await super.put(key, value, opts);
    this.refs.set(key, value);
    return v;
  }
  override async transaction(ops: Op[]): Promise<void> {
    await super.transaction(ops);
    for (const op of ops) this.refs.delete(op.key);
  }
  override async get(key: string) {
    const e = await super.get(key);
    const ref = this.refs.get(key);
    return e && ref ? { ...e, value: ref } : e;
  }
}

/** Accepts any key. */
class NoKeyCheck extends Mutant {
  private readonly loose = new Map<string, Uint8Array>();
  override async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    try {
      checkKey(key);
    } catch {
      this.loose.set(key, value);
      return 1;
    }
    return super.put(key, value, opts);
  }
}

export const MUTANTS: Record<string, () => Backend> = {
  'like-list': () => new LikeList(),
  'locale-order': () => new LocaleOrder(),
  'non-atomic-transaction': () => new NonAtomicTransaction(),
  'racy-cas': () => new RacyCas(),
  aliasing: () => new Aliasing(),
  'no-key-check': () => new NoKeyCheck(),
};
