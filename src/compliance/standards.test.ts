import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RULES, RULE_IDS, STANDARDS, rulesOf } from './standards.ts';

const doc = readFileSync(new URL('../../docs/COMPLIANCE.md', import.meta.url), 'utf8');

test('docs/COMPLIANCE.md\'s rule table is the code\'s: one row per rule, with its title, severity and clauses', () => {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\| `([a-z0-9-]+)` \|(.*)\|$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.split('|').map((c) => c.trim()));
  }
  assert.deepEqual([...rows.keys()], [...RULE_IDS]);
  for (const id of RULE_IDS) {
    const [title, severity, ...clauses] = rows.get(id)!;
    assert.equal(title, RULES[id].title, id);
    assert.equal(severity, RULES[id].severity, id);
    STANDARDS.forEach((s, i) => assert.equal(clauses[i], (RULES[id].clauses[s] ?? []).join('<br>') || '—', `${id} ${s}`));
  }
});

test('every rule supports at least one standard, and every standard has rules', () => {
  for (const id of RULE_IDS) assert.ok(STANDARDS.some((s) => rulesOf(s).includes(id)), id);
  for (const s of STANDARDS) assert.ok(rulesOf(s).length > 0, s);
});
