// Test helper for the admin commands: the routes behind the one admin pipeline (src/http/testing.ts)
// on a real port, and run(args), which parses `rekey <group> ...args` as registered by `register`,
// signing as `creds` (default: the bootstrap administrator), with --output json unless args give
// --output, and returns the printed JSON ({} if none).
import { Command } from 'commander';
import type { AdminRoute } from '../http/admin-routes.ts';
import { adminTestApp, type AdminTestApp } from '../http/testing.ts';
import type { SigningCredentials } from '../iam/sigv4-sign.ts';
import type { IamCliIo } from './iam-command.ts';

type TestIam = Parameters<typeof adminTestApp>[0] & { admin: SigningCredentials; clock: { ms: number; now(): Date } };

export interface CliTestServer {
  endpoint: string;
  audit: AdminTestApp['audit'];
  run(args: string[], creds?: SigningCredentials): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function cliTestServer(t: TestIam, routes: readonly AdminRoute[], group: string, register: (program: Command, io: IamCliIo) => unknown): Promise<CliTestServer> {
  const { app, audit } = await adminTestApp(t, routes);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const run = async (args: string[], creds: SigningCredentials = t.admin): Promise<Record<string, unknown>> => {
    let out = '';
    t.clock.ms = Date.now();
    const program = new Command().exitOverride();
    register(program, { out: { write: (s: string) => (out += s) }, env: { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, REKEY_ENDPOINT: endpoint } });
    await program.parseAsync(['node', 'rekey', group, ...args, ...(args.includes('--output') ? [] : ['--output', 'json'])]);
    return out ? (JSON.parse(out) as Record<string, unknown>) : {};
  };
  return { endpoint, audit, run, close: () => app.close() };
}
