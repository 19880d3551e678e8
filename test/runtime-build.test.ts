// The compiled runtime (scripts/build.mjs, bin/rekey.mjs; docs/ARCHITECTURE.md, "How the runtime
// loads code"): a build is found by the fingerprint of the sources checked out, so a build of other
// sources is never run; concurrent first runs leave one whole build; REKEY_RUNTIME=tsx runs the
// sources. Each test works in a throwaway checkout (the real bin/rekey.mjs and scripts/build.mjs,
// node_modules linked, a small src/), then once against this repository's own CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, scan } from '../scripts/build.mjs';

const REPO = process.cwd();

/** A checkout with the real bin/ and build script, node_modules linked, and these src/ files. */
function checkout(src: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rekey-build-'));
  for (const f of ['bin/rekey.mjs', 'scripts/build.mjs', 'tsconfig.json']) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    copyFileSync(join(REPO, f), join(root, f));
  }
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  write(root, src);
  return root;
}

function write(root: string, src: Record<string, string>): void {
  for (const [path, text] of Object.entries(src)) {
    mkdirSync(dirname(join(root, 'src', path)), { recursive: true });
    writeFileSync(join(root, 'src', path), text);
  }
}

function rekey(root: string, env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'rekey.mjs')], { env: { ...process.env, REKEY_RUNTIME: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const builds = (root: string) => readdirSync(join(root, '.build')).sort();

const MAIN = "import { word } from '../word.ts';\nconsole.log(word);\n";

test('a source edited after a build is built again: the old build is never run', () => {
  const root = checkout({ 'cli/main.ts': MAIN, 'word.ts': "export const word: string = 'one';\n" });
  try {
    assert.deepEqual(rekey(root), { status: 0, out: 'one\n', err: '' });
    const [first] = builds(root);
    assert.match(first!, /^[0-9a-f]{24}$/);
    // mark the old build so running it would show; then edit a source
    const old = join(root, '.build', first!, 'main.mjs');
    writeFileSync(old, readFileSync(old, 'utf8').replace(/"one"|'one'/, '"stale build ran"'));
    write(root, { 'word.ts': "export const word: string = 'two';\n" });
    assert.deepEqual(rekey(root), { status: 0, out: 'two\n', err: '' });
    assert.equal(builds(root).length, 2);
    // back to the first sources: their build is found again by its fingerprint (and here it shows
    // that it is that build which runs)
    write(root, { 'word.ts': "export const word: string = 'one';\n" });
    assert.deepEqual(rekey(root), { status: 0, out: 'stale build ran\n', err: '' });
    assert.equal(builds(root).length, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the fingerprint covers sources, tsconfig.json and the build script, not tests or testdata', () => {
  const root = checkout({ 'cli/main.ts': MAIN, 'word.ts': "export const word = 'one';\n", 'word.test.ts': '// a test\n', 'x/testdata/fixture.ts': '// data\n' });
  try {
    const fp = () => scan(root, 'src/cli/main.ts').fingerprint;
    const before = fp();
    write(root, { 'word.test.ts': '// another test\n', 'x/testdata/fixture.ts': '// other data\n' });
    assert.equal(fp(), before);
    write(root, { 'unused.ts': 'export const unused = 1;\n' });
    const withNewFile = fp();
    assert.notEqual(withNewFile, before);
    writeFileSync(join(root, 'tsconfig.json'), readFileSync(join(root, 'tsconfig.json'), 'utf8').replace('"strict": true', '"strict": false'));
    assert.notEqual(fp(), withNewFile);
    const withTsconfig = fp();
    writeFileSync(join(root, 'scripts', 'build.mjs'), readFileSync(join(root, 'scripts', 'build.mjs'), 'utf8') + '\n');
    assert.notEqual(fp(), withTsconfig);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a build that takes in a file the fingerprint does not cover is refused; bin/rekey.mjs runs the sources through tsx', async () => {
  const root = checkout({ 'cli/main.ts': "import { word } from './testdata/word.ts';\nconsole.log(word);\n", 'cli/testdata/word.ts': "export const word = 'from tsx';\n" });
  try {
    await assert.rejects(ensureBuilt(root, 'src/cli/main.ts'), { message: 'the build takes in files its fingerprint does not cover: src/cli/testdata/word.ts' });
    const r = rekey(root);
    assert.equal(r.status, 0);
    assert.equal(r.out, 'from tsx\n');
    assert.equal(r.err, 'rekey: running the TypeScript sources through tsx (no compiled build: the build takes in files its fingerprint does not cover: src/cli/testdata/word.ts)\n');
    assert.equal(rekey(root, { REKEY_RUNTIME: 'compiled' }).status, 1);
    assert.deepEqual(builds(root), []); // nothing half-built left behind
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a source imported for its side effects alone runs before the packages imported after it, as in the sources', () => {
  // src/crypto/x509.ts imports its Reflect shim before @peculiar/x509, which refuses to load without it
  const root = checkout({
    'cli/main.ts': "import { seen } from '../uses-probe.ts';\nconsole.log(seen);\n",
    'uses-probe.ts': "import './shim.ts';\nimport { seen } from 'probe';\nexport { seen };\n",
    'shim.ts': '(globalThis as Record<string, unknown>)[\'shimmed\'] = true;\n',
  });
  try {
    // node_modules: the repository's packages plus `probe`, which reads the global as it loads
    rmSync(join(root, 'node_modules'));
    mkdirSync(join(root, 'node_modules', 'probe'), { recursive: true });
    for (const name of readdirSync(join(REPO, 'node_modules'))) symlinkSync(join(REPO, 'node_modules', name), join(root, 'node_modules', name));
    writeFileSync(join(root, 'node_modules', 'probe', 'package.json'), '{ "name": "probe", "type": "module", "exports": "./index.js" }\n');
    writeFileSync(join(root, 'node_modules', 'probe', 'index.js'), "export const seen = globalThis.shimmed === true ? 'shim first' : 'shim late';\n");
    assert.deepEqual(rekey(root, { REKEY_RUNTIME: 'tsx' }), { status: 0, out: 'shim first\n', err: '' });
    assert.deepEqual(rekey(root, { REKEY_RUNTIME: 'compiled' }), { status: 0, out: 'shim first\n', err: '' });
    assert.deepEqual(readdirSync(join(root, '.build', builds(root)[0]!)).sort(), ['build.json', 'main.mjs', 'main.mjs.map', 'src-shim.mjs', 'src-shim.mjs.map']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('REKEY_RUNTIME=tsx runs the sources and builds nothing', () => {
  const root = checkout({ 'cli/main.ts': MAIN, 'word.ts': "export const word = 'tsx';\n" });
  try {
    assert.deepEqual(rekey(root, { REKEY_RUNTIME: 'tsx' }), { status: 0, out: 'tsx\n', err: '' });
    assert.equal(existsSync(join(root, '.build')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('import.meta.url in a compiled source is that source file\'s URL', () => {
  const root = checkout({ 'cli/main.ts': "import { here } from '../where/here.ts';\nconsole.log(here);\n", 'where/here.ts': 'export const here = import.meta.url;\n' });
  try {
    const r = rekey(root);
    assert.equal(r.err, '');
    assert.equal(r.out, `${pathToFileURL(join(root, 'src', 'where', 'here.ts')).href}\n`);
    assert.equal(builds(root).length, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('concurrent first runs leave one whole build and no temporary directories', async () => {
  const root = checkout({ 'cli/main.ts': MAIN, 'word.ts': "export const word = 'together';\n" });
  try {
    const runs = Array.from({ length: 6 }, () => new Promise<{ status: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(root, 'bin', 'rekey.mjs')], { env: { ...process.env, REKEY_RUNTIME: 'compiled' } });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.on('close', (status) => resolve({ status, out }));
    }));
    assert.deepEqual(await Promise.all(runs), Array.from({ length: 6 }, () => ({ status: 0, out: 'together\n' })));
    const [only, ...rest] = builds(root);
    assert.deepEqual(rest, []);
    assert.deepEqual(readdirSync(join(root, '.build', only!)).sort(), ['build.json', 'main.mjs', 'main.mjs.map']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('this repository\'s rekey runs its build of the sources checked out', () => {
  const r = spawnSync(process.execPath, ['bin/rekey.mjs', '--version'], { env: { ...process.env, REKEY_RUNTIME: 'compiled' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
  assert.match(r.stdout, new RegExp(version.replaceAll('.', '\\.')));
  const { fingerprint } = scan(REPO, 'src/cli/main.ts');
  const manifest = JSON.parse(readFileSync(join('.build', fingerprint, 'build.json'), 'utf8')) as { entry: string; inputs: string[] };
  assert.equal(manifest.entry, 'src/cli/main.ts');
  assert.ok(manifest.inputs.includes('src/server/start.ts'));
  const tsx = spawnSync(process.execPath, ['bin/rekey.mjs', '--version'], { env: { ...process.env, REKEY_RUNTIME: 'tsx' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(tsx.stdout, r.stdout);
});
