// The compiled runtime (docs/ARCHITECTURE.md, "How the runtime loads code"). esbuild bundles an
// entry (src/cli/main.ts for `rekey`) and everything it imports from src/ into one ES module,
// .build/<fingerprint>/main.mjs; packages in node_modules stay external. The fingerprint is a hash of
// every file the build may take in (src/ without tests and testdata, the entry, tsconfig.json, this
// file) and of esbuild's version, so the directory a checkout looks for is named by its own sources:
// a build made from other sources than those checked out is never found, never run.
//
//   node scripts/build.mjs           build src/cli/main.ts now if not built (`npm ci` runs it: prepare)
//   compiled(entry)                  the URL of the entry's build, built first if missing (bin/rekey.mjs)
//
// A source imported for its side effects alone (`import './x.ts'`) becomes a file of its own next to
// main.mjs, imported in its place, so it still runs before the packages imported after it.
//
// Concurrent first runs (tests start many CLIs at once) each build into a temporary directory of
// their own and rename it into place; a rename is atomic, and the loser drops its copy.
// REKEY_RUNTIME=tsx skips all of this (the sources run through tsx); REKEY_RUNTIME=compiled makes a
// build failure fatal instead of falling back to tsx.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (this file is scripts/build.mjs). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where builds go (gitignored). */
export const BUILD_DIR = '.build';
/** The CLI's entry: what `rekey` runs. */
export const CLI_ENTRY = 'src/cli/main.ts';
/** Builds and temporary directories older than this are removed when a new build is made. */
const KEEP_MS = 60 * 60 * 1000;

/** A source file of src/ that the runtime may import: not a test, not under a testdata/ folder. */
function isRuntimeSource(rel) {
  return !rel.endsWith('.test.ts') && !rel.split('/').includes('testdata');
}

function walk(root, dir, out) {
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(root, rel, out);
    else if (e.isFile() && isRuntimeSource(rel)) out.add(rel);
  }
  return out;
}

/**
 * What a build of `entry` from the files as they are now would be: its fingerprint (hex), the files
 * it may take in (relative to root, / separators: src/'s runtime sources, the entry, tsconfig.json
 * which esbuild reads, and this file, which holds the build options), those of them that use
 * import.meta, and the sources some file imports for their side effects alone (`import './x.ts'`).
 */
export function scan(root, entry) {
  const inputs = [...walk(root, 'src', new Set([entry, 'tsconfig.json', 'scripts/build.mjs']))].sort();
  const h = createHash('sha256');
  h.update(`esbuild ${esbuildVersion(root)}\0entry ${entry}\0`);
  const usesImportMeta = [];
  const sideEffectOnly = new Set();
  for (const rel of inputs) {
    const bytes = readFileSync(join(root, rel));
    h.update(`${rel}\0${bytes.length}\0`).update(bytes);
    if (!rel.endsWith('.ts')) continue;
    const text = bytes.toString('utf8');
    if (text.includes('import.meta')) usesImportMeta.push(rel);
    for (const m of text.matchAll(/^import\s+['"](\.\.?\/[^'"]+)['"]/gm)) sideEffectOnly.add(posix.join(posix.dirname(rel), m[1]));
  }
  return { fingerprint: h.digest('hex').slice(0, 24), inputs, usesImportMeta, sideEffectOnly: [...sideEffectOnly].sort() };
}

function esbuildVersion(root) {
  return JSON.parse(readFileSync(join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
}

/**
 * Builds `entry` unless a build of these exact sources is there; returns the path of its main.mjs.
 * The fingerprint is taken before esbuild reads the files: a file edited during the build changes
 * the next fingerprint, so the edit is built next time, never hidden under an older name.
 */
export async function ensureBuilt(root, entry) {
  const { fingerprint, inputs, usesImportMeta, sideEffectOnly } = scan(root, entry);
  const out = join(root, BUILD_DIR, fingerprint);
  if (existsSync(join(out, 'main.mjs'))) return join(out, 'main.mjs');
  mkdirSync(join(root, BUILD_DIR), { recursive: true });
  const tmp = join(root, BUILD_DIR, `tmp-${fingerprint}-${process.pid}-${Date.now()}`);
  try {
    const esbuild = await import('esbuild');
    try {
      const covered = new Set(inputs);
      const taken = new Set();
      const bundle = async (from, file, plugins) => {
        const result = await esbuild.build({
          entryPoints: [join(root, from)], outfile: join(tmp, file), absWorkingDir: root,
          bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external',
          // stack traces name the .ts files and lines (as under tsx, which also turns source maps on)
          sourcemap: 'linked', sourcesContent: false,
          // no keepNames (tsx's setting): it adds an Object.defineProperty call for every closure made at
          // run time; rekey never reads a name it did not set (error classes define `name`)
          metafile: true, logLevel: 'silent', legalComments: 'none',
          plugins: [importMetaUrl(root, usesImportMeta), ...plugins],
        });
        const read = Object.keys(result.metafile.inputs);
        for (const f of read) taken.add(f);
        return read;
      };
      // A bundle evaluates every package it imports before any of its own code, so a source imported
      // for its side effects alone (src/crypto/reflect-metadata.ts, which must run before
      // @peculiar/x509 loads) would run too late inside it: each such source is a file of its own
      // that the bundle imports in its place, in order.
      const separate = new Map(sideEffectOnly.map((rel) => [join(root, rel), `${rel.replace(/\.ts$/, '').replaceAll('/', '-')}.mjs`]));
      for (const [abs, file] of separate) {
        const rel = relative(root, abs).split(sep).join('/');
        const read = await bundle(rel, file, []);
        if (read.length !== 1) throw new Error(`${rel} is imported for its side effects alone, so it is built as a file of its own, and may not import other sources: it imports ${read.filter((f) => f !== rel).join(', ')}`);
      }
      await bundle(entry, 'main.mjs', separate.size === 0 ? [] : [{
        name: 'separate-side-effect-imports',
        setup(build) {
          build.onResolve({ filter: new RegExp(`/(${[...separate.keys()].map((abs) => escapeRegExp(posix.basename(abs))).join('|')})$`) }, (args) => {
            const file = separate.get(join(args.resolveDir, args.path));
            return file === undefined ? undefined : { path: `./${file}`, external: true };
          });
        },
      }]);
      // every file in the build must be one the fingerprint covers, or an edit to it would go unseen
      const outside = [...taken].filter((f) => !covered.has(f)).sort();
      if (outside.length > 0) throw new Error(`the build takes in files its fingerprint does not cover: ${outside.join(', ')}`);
      const manifest = { entry, fingerprint, esbuild: esbuild.version, separate: [...separate.values()], inputs: [...taken].sort() };
      writeFileSync(join(tmp, 'build.json'), JSON.stringify(manifest, null, 1) + '\n');
    } finally {
      await esbuild.stop();
    }
    try {
      renameSync(tmp, out);
    } catch (e) {
      // another process renamed the same build into place first: theirs is the same, keep it
      if (!(e.code === 'ENOTEMPTY' || e.code === 'EEXIST') || !existsSync(join(out, 'main.mjs'))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  prune(root, fingerprint);
  return join(out, 'main.mjs');
}

/**
 * In a bundle, import.meta.url is the bundle's own URL. The files that find things next to themselves
 * (src/version.ts: package.json; src/http/console.ts: the console's static files) get their source
 * file's URL written in instead, so they read the checked-out files. Any other use of import.meta
 * fails the build.
 */
function importMetaUrl(root, files) {
  return {
    name: 'import-meta-url',
    setup(build) {
      if (files.length === 0) return;
      const filter = new RegExp(`^(${files.map((rel) => escapeRegExp(join(root, rel))).join('|')})$`);
      build.onLoad({ filter }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const contents = text.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href));
        if (/\bimport\.meta\b/.test(contents)) throw new Error(`${relative(root, args.path)}: the compiled build supports import.meta.url only`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Removes other builds and leftover temporary directories older than KEEP_MS (a process started from one has loaded it already). */
function prune(root, keep) {
  const dir = join(root, BUILD_DIR);
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (name === keep) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > KEEP_MS) rmSync(join(dir, name), { recursive: true, force: true });
    } catch {
      // pruned by another process first
    }
  }
}

/**
 * The file URL of `entry`'s compiled build, built first if needed; undefined when the sources should
 * run through tsx instead: REKEY_RUNTIME=tsx, or a build that cannot be made (a read-only checkout,
 * esbuild missing), said on stderr. REKEY_RUNTIME=compiled turns that fallback into an error.
 */
export async function compiled(entry, root = ROOT) {
  const mode = process.env.REKEY_RUNTIME ?? '';
  if (mode === 'tsx') return undefined;
  if (mode !== '' && mode !== 'compiled') throw new Error(`REKEY_RUNTIME must be "tsx" or "compiled", not ${JSON.stringify(mode)}`);
  try {
    return pathToFileURL(await ensureBuilt(root, entry)).href;
  } catch (e) {
    if (mode === 'compiled') throw e;
    process.stderr.write(`rekey: running the TypeScript sources through tsx (no compiled build: ${e instanceof Error ? e.message : String(e)})\n`);
    return undefined;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const file = await ensureBuilt(ROOT, CLI_ENTRY);
  process.stdout.write(`rekey: compiled ${CLI_ENTRY} -> ${relative(ROOT, file)} (${Math.round(performance.now() - started)} ms)\n`);
}
