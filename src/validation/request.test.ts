import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S, T, TagList, compileRequest } from './request.ts';

const v = compileRequest<Record<string, unknown>>(S.struct({
  KeyId: T.KeyId, Plaintext: T.Plaintext, Blob: T.Ciphertext, EncryptionContext: T.EncryptionContext, Tags: TagList,
  Limit: T.Limit, Flag: T.Boolean, Alg: T.EncryptionAlgorithm, Keys: S.list(T.TagKey),
}, ['KeyId']));

function fails(input: unknown, name: string, message: string): void {
  assert.throws(() => v(input), (e: Error) => {
    assert.equal(e.name, name);
    assert.equal(e.message, message);
    return true;
  });
}

test('returns a typed copy with blobs decoded; unknown and null members are dropped or ignored', () => {
  const input = { KeyId: 'k', Plaintext: 'aGk=', Blob: 'AQID', EncryptionContext: { a: 'b' }, Unknown: [1, { x: 2 }], Limit: null };
  const out = v(input);
  assert.deepEqual(out['Plaintext'], Buffer.from('hi'));
  assert.deepEqual(out['Blob'], Buffer.from([1, 2, 3]));
  assert.equal('Limit' in out, false);
  (input.EncryptionContext as Record<string, string>)['a'] = 'changed';
  assert.deepEqual(out['EncryptionContext'], { a: 'b' });
});

test('a "__proto__" member stays plain data and pollutes nothing', () => {
  const input = JSON.parse('{"KeyId":"k","EncryptionContext":{"__proto__":"x","constructor":"y"}}') as unknown;
  const out = v(input);
  const ec = out['EncryptionContext'] as Record<string, string>;
  assert.deepEqual(Object.keys(ec), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(ec), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['x'], undefined);
});

test('wrong JSON types are SerializationException in coral\'s words', () => {
  fails({ KeyId: 1 }, 'SerializationException', 'NUMBER_VALUE can not be converted to a String');
  fails({ KeyId: true }, 'SerializationException', 'BOOLEAN_VALUE can not be converted to a String');
  fails({ KeyId: 'k', Limit: 'ten' }, 'SerializationException', 'STRING_VALUE can not be converted to an Integer');
  fails({ KeyId: 'k', Flag: 1 }, 'SerializationException', 'NUMBER_VALUE can not be converted to a Boolean');
  fails({ KeyId: 'k', Tags: [{ TagKey: {}, TagValue: 'v' }] }, 'SerializationException', 'Start of structure or map found where not expected.');
  fails({ KeyId: 'k', Keys: [['a']] }, 'SerializationException', 'Start of list found where not expected.');
  fails({ KeyId: 'k', Blob: 'AQI' }, 'SerializationException', "Invalid base64: 'blob' must be a base64-encoded string");
  fails({ KeyId: 'k', Blob: 'AQ=D' }, 'SerializationException', "Invalid base64: 'blob' must be a base64-encoded string");
  fails({ KeyId: 1, Limit: 0 }, 'SerializationException', 'NUMBER_VALUE can not be converted to a String');
  let deep: unknown = 'x';
  for (let i = 0; i < 40; i++) deep = { d: deep };
  fails({ KeyId: 'k', Unknown: deep }, 'SerializationException', 'The request is nested too deeply.');
});

test('constraint violations are counted and listed with camelCase member paths', () => {
  fails({}, 'ValidationException', "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  fails({ KeyId: '', Limit: 0, Alg: 'X' }, 'ValidationException',
    "3 validation errors detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
    "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
    "Value 'X' at 'alg' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]");
  fails({ KeyId: 'k', Tags: [{ TagKey: 'ok', TagValue: '' }, { TagKey: 'x'.repeat(129), TagValue: 'y'.repeat(257) }] }, 'ValidationException',
    `2 validation errors detected: Value '${'x'.repeat(129)}' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128; ` +
    `Value '${'y'.repeat(257)}' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`);
  // Sensitive members and blobs never echo their value.
  fails({ KeyId: 'k', Plaintext: Buffer.alloc(4097).toString('base64'), Blob: '' }, 'ValidationException',
    "2 validation errors detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096; " +
    "Value at 'blob' failed to satisfy constraint: Member must have length greater than or equal to 1");
});
