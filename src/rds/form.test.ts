// Query form decoding: the list spellings the real clients send (botocore QuerySerializer and the
// SDK v3 awsQuery protocol, from the rds model's member locationNames) and the malformed bodies
// that must be MalformedQueryString.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { listOf, parseForm, stringListOf } from './form.ts';

const err = (name: string, message: string | RegExp) => (e: Error) => {
  assert.equal(e.name, name);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return true;
};

test('parseForm round-trips anything URLSearchParams encodes (names unique)', () => {
  fc.assert(fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 8 }), (d) => {
    const body = new URLSearchParams(d).toString();
    const p = parseForm(body);
    assert.deepEqual(Object.fromEntries(p), { ...d });
  }));
});

test('parseForm: %-escapes, + as space, no prototype keys', () => {
  const p = parseForm('Action=Describe%44BInstances&Version=2014-10-31&Name=a+b%2Bc&__proto__=x&constructor=y&Empty=&Bare');
  assert.equal(p.get('Action'), 'DescribeDBInstances');
  assert.equal(p.get('Name'), 'a b+c');
  assert.equal(p.get('__proto__'), 'x');
  assert.equal(p.get('Empty'), '');
  assert.equal(p.get('Bare'), '');
  assert.equal(p.get('toString'), undefined);
  assert.equal(parseForm('').size, 0);
});

test('parseForm refuses bad escapes, repeats, nameless pairs and floods', () => {
  assert.throws(() => parseForm('A=%E0%A4%A'), err('MalformedQueryString', 'The request body is not valid application/x-www-form-urlencoded data (bad percent-encoding).'));
  assert.throws(() => parseForm('A=%zz'), err('MalformedQueryString', /bad percent-encoding/));
  assert.throws(() => parseForm('A=1&A=2'), err('MalformedQueryString', 'The parameter A appears more than once.'));
  assert.throws(() => parseForm('=1'), err('MalformedQueryString', 'The request body contains a parameter without a name.'));
  assert.throws(() => parseForm(Array.from({ length: 2001 }, (_, i) => `p${i}=1`).join('&')), err('MalformedQueryString', 'The request has more than 2000 parameters.'));
});

test('lists: Tags.Tag.N (botocore, SDK v3), Tags.member.N (older clients), TagKeys.member.N, empty list, order by index', () => {
  const p = parseForm('Tags.Tag.2.Key=b&Tags.Tag.2.Value=2&Tags.Tag.1.Key=a&Tags.Tag.1.Value=1&Tags.Tag.10.Key=j&TagKeys.member.1=x&TagKeys.member.2=y&Empty=');
  assert.deepEqual(listOf(p, 'Tags', 'Tag')!.map((i) => [i.index, Object.fromEntries(i.members)]), [[1, { Key: 'a', Value: '1' }], [2, { Key: 'b', Value: '2' }], [10, { Key: 'j' }]]);
  assert.deepEqual(stringListOf(p, 'TagKeys', 'member'), ['x', 'y']);
  assert.deepEqual(listOf(p, 'Empty', 'Tag'), []);
  assert.equal(listOf(p, 'Absent', 'Tag'), undefined);
  const m = parseForm('Tags.member.1.Key=a&Tags.member.1.Value=1');
  assert.deepEqual(listOf(m, 'Tags', 'Tag')!.map((i) => Object.fromEntries(i.members)), [{ Key: 'a', Value: '1' }]);
  const f = parseForm('Filters.Filter.1.Name=engine&Filters.Filter.1.Values.Value.1=postgres&Filters.Filter.1.Values.Value.2=mariadb');
  assert.deepEqual(Object.fromEntries(listOf(f, 'Filters', 'Filter')![0]!.members), { Name: 'engine', 'Values.Value.1': 'postgres', 'Values.Value.2': 'mariadb' });
});

test('lists: wrong member names, indexes out of range and scalars where a list belongs are refused', () => {
  assert.throws(() => listOf(parseForm('Tags.Item.1.Key=a'), 'Tags', 'Tag'), err('MalformedQueryString', 'Unexpected parameter Tags.Item.1.Key.'));
  assert.throws(() => listOf(parseForm('Tags.Tag.0.Key=a'), 'Tags', 'Tag'), err('MalformedQueryString', 'The list index in Tags.Tag.0.Key must be between 1 and 1000.'));
  assert.throws(() => listOf(parseForm('Tags.Tag.1001.Key=a'), 'Tags', 'Tag'), err('MalformedQueryString', /between 1 and 1000/));
  assert.throws(() => listOf(parseForm('Tags.Tag.x.Key=a'), 'Tags', 'Tag'), err('MalformedQueryString', 'Unexpected parameter Tags.Tag.x.Key.'));
  assert.throws(() => listOf(parseForm('Tags=abc'), 'Tags', 'Tag'), err('InvalidParameterValue', 'The parameter Tags must be a list.'));
  assert.throws(() => stringListOf(parseForm('TagKeys.member.1.Key=a'), 'TagKeys', 'member'), err('MalformedQueryString', 'The parameter TagKeys must be a list of strings.'));
});
