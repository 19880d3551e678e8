import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_ERRORS } from '../src/errors.ts';

function catalogue(): Map<string, { status: number; fault: string }> {
  const rows = new Map<string, { status: number; fault: string }>();
  for (const line of readFileSync('docs/errors.md', 'utf8').split('\n')) {
    const m = /^\| ([A-Za-z]+) \| (\d{3}) \| (client|server) \|/.exec(line);
    if (m) rows.set(m[1]!, { status: Number(m[2]), fault: m[3]! });
  }
  return rows;
}

test('docs/errors.md lists every error class with its status and fault, and nothing else', () => {
  const doc = catalogue();
  const code = new Map(Object.entries(ALL_ERRORS).map(([name, C]) => {
    const e = new C('x');
    return [name, { status: e.status, fault: e.fault }];
  }));
  assert.deepEqual([...doc.keys()].sort(), [...code.keys()].sort());
  for (const [name, v] of code) assert.deepEqual(doc.get(name), v, name);
});
