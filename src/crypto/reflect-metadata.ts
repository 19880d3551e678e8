// The smallest Reflect metadata shim @peculiar/x509 needs: its dependency tsyringe refuses to load
// unless Reflect.getMetadata exists, and reads / writes constructor parameter metadata through
// getMetadata, getOwnMetadata and defineMetadata. Imported by x509.ts before @peculiar/x509 (ESM
// evaluates imports in order). Does nothing when a full polyfill is already present.
type Target = object;
const store = new WeakMap<Target, Map<string | symbol | undefined, Map<unknown, unknown>>>();
const R = Reflect as unknown as Record<string, unknown>;

function own(target: Target, prop: string | symbol | undefined, create: boolean): Map<unknown, unknown> | undefined {
  let byProp = store.get(target);
  if (!byProp) {
    if (!create) return undefined;
    byProp = new Map();
    store.set(target, byProp);
  }
  let m = byProp.get(prop);
  if (!m && create) {
    m = new Map();
    byProp.set(prop, m);
  }
  return m;
}

if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (key: unknown, value: unknown, target: Target, prop?: string | symbol) => { own(target, prop, true)!.set(key, value); };
  R.getOwnMetadata = (key: unknown, target: Target, prop?: string | symbol) => own(target, prop, false)?.get(key);
  R.hasOwnMetadata = (key: unknown, target: Target, prop?: string | symbol) => own(target, prop, false)?.has(key) ?? false;
  R.getMetadata = (key: unknown, target: Target, prop?: string | symbol): unknown => {
    for (let t: Target | null = target; t; t = Object.getPrototypeOf(t) as Target | null) {
      const m = own(t, prop, false);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
  R.hasMetadata = (key: unknown, target: Target, prop?: string | symbol) => (R.getMetadata as (k: unknown, t: Target, p?: string | symbol) => unknown)(key, target, prop) !== undefined;
  R.metadata = (key: unknown, value: unknown) => (target: Target, prop?: string | symbol) => { own(target, prop, true)!.set(key, value); };
}
export {};
