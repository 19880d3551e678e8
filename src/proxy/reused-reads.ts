// Reads of a plaintext socket into one reused buffer (net's `onread`): no buffer is allocated per
// read and the readable-stream machinery (push, the 'data' event, the read-more tick) is skipped.
// Server connections ask for it when they connect (upstream.ts); a client socket comes from
// net.Server, which has no `onread` option, so the data path re-makes it over the same handle
// (withReusedReads). A consumer that keeps the bytes past the call (a write that did not complete
// at once, a queue) sets `kept`, and the next read gets a fresh buffer.
import { Socket, type SocketConstructorOpts } from 'node:net';

const READ_BUFFER_BYTES = 64 * 1024;

export class ReusedReads {
  private buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  kept = false;
  onChunk: ((chunk: Buffer) => void) | undefined;
  readonly buffer = (): Buffer => {
    if (this.kept) {
      this.kept = false;
      this.buf = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    }
    return this.buf;
  };
  readonly callback = (n: number, buf: Uint8Array): boolean => {
    this.onChunk?.((buf as Buffer).subarray(0, n));
    return true; // pausing is socket.pause()'s (backpressure in client.ts)
  };
  /** net's `onread` option. */
  get option(): { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
    return { buffer: this.buffer, callback: this.callback };
  }
}

/** What net.Socket keeps of an accepted connection: its libuv handle and the server counting it (undocumented, unchanged since Node 0.x). */
interface Accepted {
  _handle: object | null;
  _server: unknown;
  server: unknown;
}

/**
 * An accepted plaintext socket re-made to read through `reads`: a new net.Socket over the same
 * handle (as net.Server itself makes one), with `onread`. Only where nothing is in flight on the
 * old socket (open both ways, nothing queued to write or buffered to read, not paused); otherwise
 * undefined and the caller keeps the old one. The old socket is left without a handle and without
 * listeners; the new one takes over the server's connection count.
 */
export function withReusedReads(accepted: Socket, reads: ReusedReads): Socket | undefined {
  const old = accepted as unknown as Accepted;
  if (Object.getPrototypeOf(accepted) !== Socket.prototype || !old._handle || accepted.destroyed) return undefined;
  if (!accepted.readable || !accepted.writable || accepted.writableLength > 0 || accepted.readableLength > 0 || accepted.isPaused() || accepted.pending) return undefined;
  const handle = old._handle;
  accepted.removeAllListeners('data');
  accepted.removeAllListeners('error');
  accepted.removeAllListeners('close');
  old._handle = null;
  const socket = new Socket({ handle, allowHalfOpen: accepted.allowHalfOpen, readable: true, writable: true, onread: reads.option } as SocketConstructorOpts);
  const taken = socket as unknown as Accepted;
  taken.server = old.server;
  taken._server = old._server; // its close counts down the server's connections, as the old socket's would have
  old._server = null;
  socket.setNoDelay(true);
  return socket;
}
