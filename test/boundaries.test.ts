import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findViolations, ALLOWED } from '../scripts/lint-boundaries.ts';

test('the project respects its import boundaries', () => {
  assert.deepEqual(findViolations(process.cwd()), []);
});

/** A throwaway src/ tree with the given files. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rekey-lint-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'src', path)), { recursive: true });
    writeFileSync(join(root, 'src', path), text);
  }
  return root;
}

test('the boundary check catches each kind of violation', () => {
  const root = tree({
    'kms/bad.ts': "import { randomBytes } from 'node:crypto';\nimport { x } from '../http/app.ts';\nimport { y } from '../server/start.ts';\n",
    'proxy/bad.ts': "import type { SecretsService } from '../secrets/service.ts';\n",
    'secrets/ok.ts': "import type { SecretSource } from '../proxy/ports.ts';\n",
    'secrets/bad.ts': "import { ProxyService } from '../proxy/service.ts';\n",
    'http/bad.ts': "import { main } from '../cli/main.ts';\n",
    'errors.ts': "import { x } from './kms/ids.ts';\n",
    'newthing/a.ts': "export const a = 1;\n",
    'storage/dyn.ts': "const m = await import('../kms/service.ts');\n",
  });
  const v = findViolations(root);
  const expect = [
    /^src\/kms\/bad\.ts: imports node:crypto/,
    /^src\/kms\/bad\.ts: src\/kms\/ may not import src\/http\/app\.ts$/,
    /^src\/kms\/bad\.ts: src\/kms\/ may not import src\/server\/start\.ts$/,
    /^src\/proxy\/bad\.ts: src\/proxy\/ may not import src\/secrets\/service\.ts$/,
    /^src\/secrets\/bad\.ts: src\/secrets\/ may not import src\/proxy\/service\.ts$/,
    /^src\/http\/bad\.ts: src\/http\/ may not import src\/cli\/main\.ts$/,
    /^src\/errors\.ts: a shared root module imports src\/kms\/ids\.ts$/,
    /^src\/newthing\/a\.ts: folder src\/newthing\/ is not in the import table/,
    /^src\/storage\/dyn\.ts: src\/storage\/ may not import src\/kms\/service\.ts$/,
  ];
  assert.equal(v.length, expect.length, v.join('\n'));
  for (const re of expect) assert.ok(v.some((line) => re.test(line)), `${re} in\n${v.join('\n')}`);
  assert.ok(!v.some((line) => line.startsWith('src/secrets/ok.ts')), 'the port is allowed');
});

test('domain folders may import no adapter, and http no wiring', () => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    if (['http', 'server', 'cli'].includes(folder)) continue;
    for (const adapter of ['http', 'server', 'cli']) assert.ok(!allowed.includes(adapter), `${folder} -> ${adapter}`);
  }
  assert.ok(!ALLOWED['http']!.includes('server') && !ALLOWED['http']!.includes('cli'));
});
