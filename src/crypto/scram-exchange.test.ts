import { test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresMd5Response, scramServerFinal, scramServerFirst, ScramClient } from './scram-exchange.ts';
import { scramKeys } from './scram.ts';

// RFC 7677 section 3 test vector (user "user", password "pencil").
const V = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');

test('SCRAM client: RFC 7677 vector', () => {
  const c = new ScramClient('pencil', V.clientNonce, 'user');
  assert.equal(c.clientFirst(), V.clientFirst);
  assert.equal(c.clientFinal(V.serverFirst), V.clientFinal);
  assert.equal(c.verifyServerFinal(V.serverFinal), true);
  assert.equal(c.verifyServerFinal('v=' + Buffer.alloc(32).toString('base64')), false);
});

test('SCRAM server: RFC 7677 vector; the matching candidate is found among several', () => {
  const st = scramServerFirst(V.clientFirst, salt, 4096, V.serverNonce);
  assert.equal(st.serverFirst, V.serverFirst);
  const right = scramKeys('pencil', salt, 4096);
  const wrong = scramKeys('not-pencil', salt, 4096);
  assert.deepEqual(scramServerFinal(st, V.clientFinal, [right]), { index: 0, serverFinal: V.serverFinal });
  assert.deepEqual(scramServerFinal(st, V.clientFinal, [wrong, right]), { index: 1, serverFinal: V.serverFinal });
  assert.equal(scramServerFinal(st, V.clientFinal, [wrong]), undefined);
  assert.equal(scramServerFinal(st, V.clientFinal, []), undefined);
});

test('SCRAM server: malformed messages, nonce and binding mismatches are ScramProtocolErrors', () => {
  const bad = (f: () => unknown, message: string) => assert.throws(f, { name: 'ScramProtocolError', message });
  bad(() => scramServerFirst('garbage', salt, 4096), 'malformed SCRAM client-first-message');
  bad(() => scramServerFirst('p=tls-server-end-point,,n=,r=abc', salt, 4096), 'channel binding is not supported on this connection');
  bad(() => scramServerFirst('n,a=admin,n=,r=abc', salt, 4096), 'authorization identity is not supported');
  bad(() => scramServerFirst('n,,n=,r=a,b', salt, 4096), 'malformed SCRAM attribute');
  const st = scramServerFirst(V.clientFirst, salt, 4096, V.serverNonce);
  bad(() => scramServerFinal(st, 'c=biws,r=x', []), 'malformed SCRAM client-final-message');
  bad(() => scramServerFinal(st, V.clientFinal.replace('c=biws', 'c=eSws'), []), 'SCRAM channel binding check failed');
  bad(() => scramServerFinal(st, V.clientFinal.replace('$k0,p', '$k1,p'), []), 'SCRAM nonce mismatch');
  bad(() => new ScramClient('x', 'abc').clientFinal('r=zzz,s=AAAA,i=4096'), 'SCRAM server nonce is invalid');
});

test('md5 response: "md5" || md5hex(md5hex(password || user) || salt)', () => {
  // expected value computed independently (Python hashlib) for password "secret", user "bob", salt 01020304
  assert.equal(postgresMd5Response('bob', 'secret', Buffer.from([1, 2, 3, 4])), 'md5f21dfe33ff3a9e03dbc3e008251fe5cc');
});
