import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server } from 'node:net';
import { TcpForwarder } from './tcp-forwarder.ts';

function echo(tag: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.on('data', (d) => s.write(`${tag}:${d.toString()}`)));
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

function ask(port: number, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => c.write(msg));
    c.once('data', (d) => { resolve(d.toString()); c.destroy(); });
    c.once('error', reject);
    c.once('close', () => resolve('<closed>'));
  });
}

test('forwards bytes; pause holds new connections, switch + resume sends them to the new upstream', async (t) => {
  const a = await echo('a');
  const b = await echo('b');
  const fwd = new TcpForwarder({ host: '127.0.0.1', port: 0, upstream: { host: '127.0.0.1', port: a.port } });
  const port = await fwd.listen();
  t.after(async () => { await fwd.close(); a.server.close(); b.server.close(); });
  assert.equal(await ask(port, 'x'), 'a:x');
  fwd.pause();
  let answered = false;
  const held = ask(port, 'y').then((r) => { answered = true; return r; });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answered, false, 'a connection made while paused must wait');
  fwd.setUpstream({ host: '127.0.0.1', port: b.port });
  fwd.resume();
  assert.equal(await held, 'b:y');
  fwd.setUpstream(null);
  assert.equal(await ask(port, 'z'), '<closed>', 'no upstream: refused');
});
