// RDS's naming and value rules (RDS API Reference, CreateDBInstance "Constraints"), each with the
// error name and message the caller sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkIdentifier, checkMasterUsername, checkPassword, checkStorage, checkEngine, tagsOf, filtersOf, optBool, optInt } from './validate.ts';
import { parseForm } from './form.ts';

const err = (name: string, message: string | RegExp) => (e: Error) => {
  assert.equal(e.name, name);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};
const BAD_ID = /^The parameter DBInstanceIdentifier is not a valid identifier\. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens\.$/;

test('identifiers: 1-63 letters/digits/hyphens, first a letter, no trailing or double hyphen; stored lower-case', () => {
  assert.equal(checkIdentifier('App-01'), 'app-01');
  assert.equal(checkIdentifier('a'), 'a');
  assert.equal(checkIdentifier('a'.repeat(63)), 'a'.repeat(63));
  for (const bad of ['', '1a', '-a', 'a-', 'a--b', 'a_b', 'a.b', 'a b', 'a'.repeat(64), 'é']) assert.throws(() => checkIdentifier(bad), err('InvalidParameterValue', BAD_ID), bad);
  // the rule, stated independently: accepted exactly when the RDS pattern holds
  fc.assert(fc.property(fc.stringMatching(/^[a-zA-Z0-9-]{0,66}$/), (s) => {
    const ok = s.length >= 1 && s.length <= 63 && /^[A-Za-z]/.test(s) && !s.endsWith('-') && !s.includes('--');
    let accepted = true;
    try { checkIdentifier(s); } catch { accepted = false; }
    assert.equal(accepted, ok, s);
  }));
});

test('passwords: printable ASCII except / @ " and space; 8-128 (postgres), 8-41 (mariadb); the value is never in the message', () => {
  assert.equal(checkPassword('postgres', "Aa1!#$%&'()*+,-.:;<=>?[\\]^_`{|}~"), "Aa1!#$%&'()*+,-.:;<=>?[\\]^_`{|}~");
  for (const bad of ['has space1', 'with/slash', 'with@at12', 'with"quote', 'tab\there1', 'ünïcode12']) {
    assert.throws(() => checkPassword('postgres', bad), (e: Error) => {
      assert.equal(e.name, 'InvalidParameterValue');
      assert.equal(e.message, `The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '"', ' ' may be used.`);
      assert.ok(!e.message.includes(bad));
      return true;
    });
  }
  assert.throws(() => checkPassword('postgres', 'seven77'), err('InvalidParameterValue', 'The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.'));
  checkPassword('postgres', 'x'.repeat(128));
  assert.throws(() => checkPassword('mariadb', 'x'.repeat(42)), err('InvalidParameterValue', 'The parameter MasterUserPassword is not a valid password because it is longer than 41 characters.'));
});

test('master username, storage, engine', () => {
  assert.equal(checkMasterUsername('postgres', 'app_admin'), 'app_admin');
  assert.throws(() => checkMasterUsername('postgres', undefined), err('InvalidParameterValue', 'The parameter MasterUsername must be provided and must not be blank.'));
  assert.throws(() => checkMasterUsername('postgres', 'rdsadmin'), err('InvalidParameterValue', 'MasterUsername rdsadmin cannot be used as it is a reserved word used by the engine'));
  assert.throws(() => checkMasterUsername('mariadb', 'a'.repeat(17)), err('InvalidParameterValue', /at most 16 characters for mariadb/));
  assert.equal(checkStorage('postgres', 20), 20);
  assert.equal(checkStorage('postgres', 65536), 65536);
  assert.throws(() => checkStorage('postgres', 19), err('InvalidParameterValue', 'Invalid storage size for engine name postgres and storage type gp2: 19'));
  assert.throws(() => checkStorage('mariadb', undefined), err('InvalidParameterValue', 'Invalid storage size for engine name mariadb and storage type gp2: 0'));
  assert.equal(checkEngine('Postgres'), 'postgres');
  assert.throws(() => checkEngine('aurora-postgresql'), err('InvalidParameterValue', 'Invalid DB engine: aurora-postgresql. rekey supports: postgres, mariadb.'));
});

test('scalars, tags and filters', () => {
  const p = parseForm('B=TRUE&C=maybe&I=42&J=4.2&Tags.Tag.1.Key=a&Tags.Tag.1.Value=1&Filters.Filter.1.Name=engine&Filters.Filter.1.Values.Value.1=postgres');
  assert.equal(optBool(p, 'B'), true);
  assert.throws(() => optBool(p, 'C'), err('InvalidParameterValue', 'Invalid boolean value for parameter C: it must be true or false.'));
  assert.equal(optInt(p, 'I'), 42);
  assert.throws(() => optInt(p, 'J'), err('InvalidParameterValue', 'Invalid value for parameter J: it must be an integer.'));
  assert.deepEqual(tagsOf(p), [{ Key: 'a', Value: '1' }]);
  assert.deepEqual(filtersOf(p), [{ Name: 'engine', Values: ['postgres'] }]);
  const many = Array.from({ length: 51 }, (_, i) => `Tags.Tag.${i + 1}.Key=k${i}`).join('&');
  assert.throws(() => tagsOf(parseForm(many)), err('InvalidParameterValue', 'Too many tags: at most 50 are allowed.'));
  assert.throws(() => tagsOf(parseForm('Tags.Tag.1.Value=v')), err('InvalidParameterValue', 'A tag key must be between 1 and 128 characters.'));
  assert.throws(() => filtersOf(parseForm('Filters.Filter.1.Values.Value.1=x')), err('MissingParameter', 'The request must contain the parameter Filters.Filter.N.Name'));
  assert.throws(() => filtersOf(parseForm('Filters.Filter.1.Name=engine')), err('InvalidParameterValue', 'The filter engine must have at least one value.'));
});
