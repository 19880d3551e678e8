import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomPassword, ROTATION_PASSWORD } from './password.ts';

test('defaults: 32 characters with every type', () => {
  for (let i = 0; i < 50; i++) {
    const p = randomPassword();
    assert.equal(p.length, 32);
    assert.match(p, /[a-z]/);
    assert.match(p, /[A-Z]/);
    assert.match(p, /[0-9]/);
    assert.match(p, /[^a-zA-Z0-9]/);
    assert.doesNotMatch(p, / /);
  }
});

test('rotation passwords avoid characters that break connection strings and shells', () => {
  for (let i = 0; i < 200; i++) assert.doesNotMatch(randomPassword(ROTATION_PASSWORD), /[/@"'\\ :;&|`$<>()?#%{}[\]^*!~,]/);
});

test('property: length, exclusions and required types hold for any options', () => {
  fc.assert(fc.property(
    fc.integer({ min: 5, max: 200 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.string({ maxLength: 10 }),
    (len, noDigits, noPunct, space, exclude) => {
      const p = randomPassword({ PasswordLength: len, ExcludeNumbers: noDigits, ExcludePunctuation: noPunct, IncludeSpace: space, ExcludeCharacters: exclude });
      assert.equal(p.length, len);
      for (const c of exclude) assert.ok(!p.includes(c));
      if (noDigits) assert.doesNotMatch(p, /[0-9]/);
      if (space && !exclude.includes(' ')) assert.match(p, / /);
    },
  ));
});

test('impossible requests are InvalidParameterException', () => {
  assert.throws(() => randomPassword({ ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true }), { name: 'InvalidParameterException' });
  assert.throws(() => randomPassword({ PasswordLength: 2 }), { name: 'InvalidParameterException', message: /at least 4/ });
  assert.equal(randomPassword({ PasswordLength: 2, RequireEachIncludedType: false }).length, 2);
});
