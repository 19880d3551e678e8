// Types of scripts/build.mjs (plain JavaScript: bin/rekey.mjs loads it before any TypeScript can run).
export declare const ROOT: string;
export declare const BUILD_DIR: string;
export declare const CLI_ENTRY: string;
export declare function scan(root: string, entry: string): { fingerprint: string; inputs: string[]; usesImportMeta: string[]; sideEffectOnly: string[] };
export declare function ensureBuilt(root: string, entry: string): Promise<string>;
export declare function compiled(entry: string, root?: string): Promise<string | undefined>;
