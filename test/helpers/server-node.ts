// A rekey server in a child process (test/helpers/server-child.ts), for tests with several nodes
// or with kills: started from the environment like `rekey server`, answering over IPC.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

export interface ServerNode {
  proc: ChildProcess;
  url: string;
  exited: Promise<void>;
  /** Sends an IPC message and waits for the reply of type `reply`. */
  send(m: object, reply: string): Promise<void>;
  /** Moves the node's clock `ms` ahead of the system clock. */
  setOffset(ms: number): Promise<void>;
  /** SIGTERM (a clean shutdown) and wait for the exit. */
  stop(): Promise<void>;
}

export async function startServerNode(env: Record<string, string>): Promise<ServerNode> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  proc.stdout!.resume();
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.on('message', (m: { type?: string; url?: string }) => { if (m.type === 'ready') resolve(m.url!); });
    proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  const send = (m: object, reply: string) => new Promise<void>((resolve) => {
    const on = (x: { type?: string }) => { if (x.type === reply) { proc.off('message', on); resolve(); } };
    proc.on('message', on);
    proc.send(m);
  });
  return {
    proc, url, exited, send,
    setOffset: (ms) => send({ type: 'offset', ms }, 'offset-set'),
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
