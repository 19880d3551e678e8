import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ConfigurationError } from '../errors.ts';
import { listenError } from './server-command.ts';

test('rekey server: a port already in use is a ConfigurationError naming --port', async (t) => {
  // a real EADDRINUSE from Node, as app.listen reports it
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const err = await new Promise<unknown>((resolve) => {
    const second = createServer();
    second.once('error', resolve);
    second.listen(port, '127.0.0.1');
  });
  const e = listenError(err, { host: '127.0.0.1', port });
  assert.ok(e instanceof ConfigurationError);
  assert.equal(e.message, `port ${port} on 127.0.0.1 is already in use (another rekey server?): choose another with --port or REKEY_PORT`);
  const proxy = listenError(err, { host: '127.0.0.1', port: 8370 }) as Error;
  assert.match(proxy.message, new RegExp(`^127\\.0\\.0\\.1:${port} is already in use: a proxy target's listen port`));
  const other = new Error('boom');
  assert.equal(listenError(other, { host: '127.0.0.1', port }), other);
});
