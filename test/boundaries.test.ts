import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findViolations } from '../scripts/lint-boundaries.ts';

test('the project respects its import boundaries', () => {
  assert.deepEqual(findViolations(process.cwd()), []);
});

test('the boundary check catches node:crypto outside src/crypto and domain->adapter imports', () => {
  const root = mkdtempSync(join(tmpdir(), 'rekey-lint-'));
  mkdirSync(join(root, 'src', 'kms'), { recursive: true });
  writeFileSync(join(root, 'src', 'kms', 'bad.ts'), "import { randomBytes } from 'node:crypto';\nimport { x } from '../http/app.ts';\n");
  const v = findViolations(root);
  assert.equal(v.length, 2);
  assert.match(v[0]!, /imports node:crypto/);
  assert.match(v[1]!, /imports adapter/);
});
