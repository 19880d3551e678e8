// Every key under a prefix, a page at a time (for readers that walk a whole prefix: compliance
// facts, incident holdings, rehearsal). A generator, so a caller may stop early.
import type { ListOptions } from './backend.ts';

const PAGE = 500;

export async function* eachKey(store: { list(prefix: string, opts?: ListOptions): Promise<string[]> }, prefix: string): AsyncGenerator<string> {
  let after: string | undefined;
  for (;;) {
    const keys = await store.list(prefix, { ...(after !== undefined ? { after } : {}), limit: PAGE });
    yield* keys;
    if (keys.length < PAGE) return;
    after = keys[keys.length - 1]!;
  }
}

export async function listAllKeys(store: { list(prefix: string, opts?: ListOptions): Promise<string[]> }, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of eachKey(store, prefix)) out.push(k);
  return out;
}
