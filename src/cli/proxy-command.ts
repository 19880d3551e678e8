// `rekey proxy status|pause|switch|resume`: talks to a running server's admin API (/v1/proxy).
// Thin, like `rekey jobs`: one request per call, SigV4-signed (service "iam") with the caller's
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN when set.
import type { Command } from 'commander';
import type { TargetStatus } from '../proxy/service.ts';
import { adminCall, connection, connectionOptions, type AdminConnection, type ConnectionFlags } from './admin-client.ts';
import { ConfigurationError } from '../errors.ts';
import { formatOf, print, withOutput } from './output.ts';

export interface ProxyClient {
  status(): Promise<{ targets: TargetStatus[] }>;
  pause(name: string, timeoutMs?: number): Promise<{ drainedMs: number; target: TargetStatus }>;
  switch(name: string, host: string, port: number): Promise<{ target: TargetStatus }>;
  resume(name: string): Promise<{ pausedMs: number; stallMs: number; target: TargetStatus }>;
  cutover(name: string, host: string, port: number, timeoutMs?: number): Promise<CutoverReply>;
}

export interface CutoverReply {
  from: { host: string; port: number };
  to: { host: string; port: number };
  drainedMs: number;
  pausedMs: number;
  stallMs: number;
  target: TargetStatus;
}

export function httpProxyClient(conn: AdminConnection): ProxyClient {
  // pause waits for in-flight transactions (up to its timeout): a long request timeout
  const call = <T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> =>
    adminCall<T>(conn, { method, path, ...(body ? { body } : {}), timeoutMs: 3_700_000 });
  const t = (name: string) => `/v1/proxy/targets/${encodeURIComponent(name)}`;
  return {
    status: () => call('GET', '/v1/proxy/targets'),
    pause: (name, timeoutMs) => call('POST', `${t(name)}/pause`, timeoutMs === undefined ? {} : { timeoutMs }),
    switch: (name, host, port) => call('POST', `${t(name)}/switch`, { host, port }),
    resume: (name) => call('POST', `${t(name)}/resume`, {}),
    cutover: (name, host, port, timeoutMs) => call('POST', `${t(name)}/cutover`, timeoutMs === undefined ? { host, port } : { host, port, timeoutMs }),
  };
}

export function formatStatus(targets: TargetStatus[]): string {
  const out: string[] = [];
  for (const t of targets) {
    out.push(`${t.name}  ${t.mode}  ${t.listen.host}:${t.listen.port} -> ${t.upstream.host}:${t.upstream.port}  ${t.paused ? 'PAUSED' : 'running'}  clients ${t.clients}  generation ${t.generation}  longest stall ${t.longestStallMs} ms`);
    for (const p of t.pools) {
      out.push(`  ${p.database}/${p.user}: active ${p.active} idle ${p.idle} waiting ${p.waiting} connecting ${p.connecting}; waits ${p.waits} (max ${p.waitMsMax} ms), borrow timeouts ${p.borrowTimeouts}, logins ${p.serverLogins} (retried ${p.loginRetries})`);
    }
  }
  return out.length ? out.join('\n') + '\n' : 'no proxy targets\n';
}

export interface ProxyCommandIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

export function registerProxyCommands(program: Command, open = httpProxyClient, io: ProxyCommandIo = { out: (s) => process.stdout.write(s), env: process.env }): Command {
  const proxy = connectionOptions(program
    .command('proxy')
    .description('Status and cutover (pause / switch / resume) of the PostgreSQL proxy on a running server'));
  const client = (cmd: Command) => open(connection(cmd.optsWithGlobals<ConnectionFlags>(), io.env));
  const int = (name: string, min: number, max: number) => (v: string) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= min && n <= max)) throw new ConfigurationError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };

  withOutput(proxy.command('status').description('Targets, pools and metrics').option('--json', 'same as --output json'))
    .action(async (o: { json?: boolean; output: string }, cmd: Command) => {
      const r = await client(cmd).status();
      print(io.out, formatOf(o), r, () => formatStatus(r.targets));
    });

  withOutput(proxy.command('pause <target>').description('Hold new transactions; wait for in-flight ones to finish (resumes by itself on timeout)'))
    .option('--timeout-ms <ms>', 'how long to wait for in-flight transactions', int('--timeout-ms', 1, 3_600_000))
    .action(async (name: string, o: { timeoutMs?: number; output: string }, cmd: Command) => {
      const r = await client(cmd).pause(name, o.timeoutMs);
      print(io.out, formatOf(o), r, () => `${name}: paused (in-flight transactions finished in ${r.drainedMs} ms)\n`);
    });

  const endpoint = (hp: string): [string, number] => {
    const m = /^(.+):(\d{1,5})$/.exec(hp);
    if (!m) throw new ConfigurationError('endpoint must be host:port');
    return [m[1]!.replace(/^\[(.*)\]$/, '$1'), Number(m[2])];
  };

  withOutput(proxy.command('cutover <target> <host:port>').description('One atomic cutover on the server: pause, wait for in-flight transactions, switch, store the upstream, resume'))
    .option('--timeout-ms <ms>', 'how long to wait for in-flight transactions (nothing changes when exceeded)', int('--timeout-ms', 1, 3_600_000))
    .action(async (name: string, hp: string, o: { timeoutMs?: number; output: string }, cmd: Command) => {
      const [host, port] = endpoint(hp);
      const r = await client(cmd).cutover(name, host, port, o.timeoutMs);
      print(io.out, formatOf(o), r, () => `${name}: ${r.from.host}:${r.from.port} -> ${r.to.host}:${r.to.port} (generation ${r.target.generation}); drained in ${r.drainedMs} ms, paused ${r.pausedMs} ms, longest client stall ${r.stallMs} ms\n`);
    });

  withOutput(proxy.command('switch <target> <host:port>').description('Point a paused target at another endpoint'))
    .action(async (name: string, hp: string, o: { output: string }, cmd: Command) => {
      const [host, port] = endpoint(hp);
      const r = await client(cmd).switch(name, host, port);
      print(io.out, formatOf(o), r, () => `${name}: now -> ${r.target.upstream.host}:${r.target.upstream.port} (generation ${r.target.generation}); resume to release held transactions\n`);
    });

  withOutput(proxy.command('resume <target>').description('Release held transactions'))
    .action(async (name: string, o: { output: string }, cmd: Command) => {
      const r = await client(cmd).resume(name);
      print(io.out, formatOf(o), r, () => `${name}: resumed after ${r.pausedMs} ms (longest client stall of this pause ${r.stallMs} ms)\n`);
    });
  return proxy;
}
